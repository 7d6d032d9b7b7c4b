// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/types.h>

#include "vgem.h"

/* The few DRM uapi definitions we need (include/uapi/drm/drm*.h). */
struct drm_version_args {
	int major, minor, patch;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct drm_prime_handle_args {
	__u32 handle;
	__u32 flags;
	__s32 fd;
};

struct drm_create_dumb_args {
	__u32 height, width, bpp, flags;
	__u32 handle, pitch;
	__u64 size;
};

struct drm_gem_close_args {
	__u32 handle;
	__u32 pad;
};

#define DRM_IOCTL_VERSION_	_IOWR('d', 0x00, struct drm_version_args)
#define DRM_IOCTL_GEM_CLOSE_	_IOW('d', 0x09, struct drm_gem_close_args)
#define DRM_IOCTL_PRIME_H2FD	_IOWR('d', 0x2d, struct drm_prime_handle_args)
#define DRM_IOCTL_PRIME_FD2H	_IOWR('d', 0x2e, struct drm_prime_handle_args)
#define DRM_IOCTL_CREATE_DUMB	_IOWR('d', 0xb2, struct drm_create_dumb_args)
#define DRM_CLOEXEC_		O_CLOEXEC
#define DRM_RDWR_		O_RDWR

int vgem_open(void)
{
	struct dirent *de;
	DIR *d = opendir("/dev/dri");
	int found = -ENODEV;

	if (!d)
		return -ENODEV;
	while ((de = readdir(d)) && found < 0) {
		char path[300], name[16] = "";
		struct drm_version_args v = { .name_len = sizeof(name) - 1,
					      .name = name };
		int fd;

		if (strncmp(de->d_name, "card", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/dri/%s", de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, DRM_IOCTL_VERSION_, &v) && !strcmp(name, "vgem"))
			found = fd;
		else
			close(fd);
	}
	closedir(d);
	return found;
}

int vgem_import(int vgem, int dmabuf_fd, uint32_t *handle)
{
	struct drm_prime_handle_args a = { .fd = dmabuf_fd };

	if (ioctl(vgem, DRM_IOCTL_PRIME_FD2H, &a))
		return -errno;
	*handle = a.handle;
	return 0;
}

int vgem_export(int vgem, uint32_t size, uint32_t *handle)
{
	struct drm_create_dumb_args c = { .height = 1, .width = size / 4,
					  .bpp = 32 };
	struct drm_prime_handle_args a = { 0 };

	if (ioctl(vgem, DRM_IOCTL_CREATE_DUMB, &c))
		return -errno;
	*handle = c.handle;
	a.handle = c.handle;
	a.flags = DRM_CLOEXEC_ | DRM_RDWR_;
	if (ioctl(vgem, DRM_IOCTL_PRIME_H2FD, &a))
		return -errno;
	return a.fd;
}

int vgem_close_handle(int vgem, uint32_t handle)
{
	struct drm_gem_close_args a = { .handle = handle };

	return ioctl(vgem, DRM_IOCTL_GEM_CLOSE_, &a) ? -errno : 0;
}
