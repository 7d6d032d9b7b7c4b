/* SPDX-License-Identifier: GPL-2.0 */
/* vgem through plain DRM ioctls: a real in-kernel static importer, and an
 * exporter of dma-bufs the shim does not manage.
 */
#ifndef TESTS_VGEM_H
#define TESTS_VGEM_H

#include <stdint.h>

/* Open vgem's DRM node, or -errno (-ENODEV if there is none). */
int vgem_open(void);
/* Import a dma-buf (PRIME): vgem attaches statically. Handle or -errno. */
int vgem_import(int vgem, int dmabuf_fd, uint32_t *handle);
/* A vgem buffer exported as a dma-buf fd, or -errno. */
int vgem_export(int vgem, uint32_t size, uint32_t *handle);
int vgem_close_handle(int vgem, uint32_t handle);

#endif
