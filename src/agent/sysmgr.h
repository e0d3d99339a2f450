/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* systemd's service manager through its D-Bus API (libsystemd's sd-bus):
 * what the steps used `systemctl` for, without a process per call. Each
 * systemctl is a fresh dynamically linked program that connects, asks one
 * thing and exits; under QEMU's TCG that was 0.3-1 s per call, most of the
 * agent's boot time. Like systemctl run as root, this talks to the
 * manager's private socket and falls back to the system bus. */

#include <stdbool.h>
#include <stdint.h>

struct sysmgr;

/* Connects to the manager: its private socket, else the system bus. */
int sysmgr_open(struct sysmgr **ret);
/* On an already connected fd (tests: a socketpair to a fake manager); takes
 * the fd. */
int sysmgr_open_fd(int fd, struct sysmgr **ret);
void sysmgr_free(struct sysmgr *m);
static inline void sysmgr_freep(struct sysmgr **m) { if (*m) sysmgr_free(*m); }
#define _cleanup_sysmgr_ __attribute__((cleanup(sysmgr_freep)))

/* The manager's last error on this connection, one line ("" if none);
 * valid until the next call. */
const char *sysmgr_error(const struct sysmgr *m);

/* 1 if systemd holds an old view of any of the units (a drop-in or unit file
 * changed on disk since it loaded them), 0 if none, < 0 on error. */
int sysmgr_need_reload(struct sysmgr *m, char * const *units);
/* A unit's ActiveState ("active", "failed", "inactive", ...) in *ret (new
 * string); a unit the manager does not know reads "inactive". */
int sysmgr_active_state(struct sysmgr *m, const char *unit, char **ret);
/* daemon-reload; returns once the manager has reloaded. */
int sysmgr_reload(struct sysmgr *m);
/* systemctl enable --no-reload: the [Install] symlinks for the next boots. */
int sysmgr_enable(struct sysmgr *m, char * const *units);

/* TRY_RELOAD_OR_RESTART: only a running unit, reloaded when its unit file
 * has ExecReload= (haproxy's seamless reload, nginx -s reload), else
 * restarted (systemctl try-reload-or-restart). */
enum sysmgr_job { SYSMGR_START, SYSMGR_RESTART, SYSMGR_TRY_RESTART, SYSMGR_TRY_RELOAD_OR_RESTART };
/* Queues the job ("replace" mode) and waits up to timeout_usec for it to
 * finish. 0 if it finished "done"; -EIO if it finished otherwise (the
 * result, and the unit's own Result, in sysmgr_error()); -ETIMEDOUT. */
int sysmgr_run_job(struct sysmgr *m, enum sysmgr_job job, const char *unit, uint64_t timeout_usec);
