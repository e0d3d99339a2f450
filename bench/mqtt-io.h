/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the benchmark's two tools (mqtt-load, mqtt-sink): each is one
 * static binary, so this is a header of static functions. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Writes the *len queued bytes of out to fd, keeping what the socket cannot
 * take now at the front of out (EPOLLOUT sends it later). Returns 0, or a
 * positive errno when the connection is dead. */
static inline int write_queued(int fd, uint8_t *out, uint32_t *len) {
        while (*len > 0) {
                ssize_t w = write(fd, out, *len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return errno;
                }
                memmove(out, out + w, *len - (size_t) w);
                *len -= (uint32_t) w;
        }
        return 0;
}
