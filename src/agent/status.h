/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `node-agent status`: what is done, what failed and why, from the state
 * file and sentinels, and on a boot from a slot one line about the slots
 * (bootcount.h; CMDLINE_PATH: NULL for /proc/cmdline). Returns the exit
 * status: 0 configured, 1 failed, 2 running or interrupted, 3 never ran. */
int status_print(const char *root, const char *cmdline_path, int json);
