/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The monotonic clock in milliseconds: for step times, timeouts and
 * deadlines, which must not jump with the wall clock (the node's time may
 * be set while the agent runs). */

#include <time.h>

static inline long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
