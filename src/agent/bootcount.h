/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* After an update is staged (update.h): the boots that decide whether the
 * new slot is good, and what `node-agent update --status` shows of the
 * slots. The console and the journal get one line per decision, the form
 * the tests and an operator's grep read:
 *
 *   NODEOS-UPDATE: GOOD slot=S image=ID
 *   NODEOS-UPDATE: BAD slot=S image=ID reason=...
 *   NODEOS-UPDATE: ROLLED BACK slot=S image=ID counter=N reason=...
 *
 * --boot-complete (nodeos-boot-complete.service, after boot-complete.target,
 * which needs `node-agent health`): the running slot S is good. grubenv
 * gets nodeos_good=S and loses a trial of S; S's entry, if still counted,
 * takes its good name (what systemd-bless-boot.service, ordered before,
 * does on the UEFI boots its generator pulls it in for). Then the other
 * slot T: an image staged there that is not running, out of tries (a +0
 * entry, or GRUB's nodeos_try=T with nodeos_try_left=0) or recorded bad by
 * --failed-boot, was rolled back: it is recorded bad (never staged again),
 * its entry and trial removed. A staged T whose entry is gone was never
 * tried: reported as rolled back, not recorded bad. A staged T with tries
 * left has not been booted yet: left alone.
 *
 * --failed-boot (nodeos-rollback.service, when the health check fails): a
 * running slot on trial is marked bad at once (+0 entry, nodeos_try_left=0),
 * its image recorded bad with the reason (--reason, else the first line of
 * HEALTH_FAILURE_FILE, health.h); the caller then reboots, and the loaders
 * take the other slot. A running slot not on trial has nothing to fall
 * back to: said so, and nothing changes. */

#include <stdbool.h>
#include <time.h>


struct bootcount_options {
        const char *root;               /* "/" or a test tree */
        const char *cmdline_path;       /* NULL: /proc/cmdline */
        const char *reason;             /* --failed-boot: NULL reads HEALTH_FAILURE_FILE */
        time_t now;                     /* 0: time(NULL) */
};

/* -errno with one line in *error. */
int update_boot_complete(const struct bootcount_options *o, char **error);
/* *ret_reboot: the slot was marked bad and the node should reboot now. */
int update_failed_boot(const struct bootcount_options *o, bool *ret_reboot, char **error);
/* `update --status [--json]`: the exit status (0; 1 when the state cannot
 * be read at all). */
int update_status_print(const struct bootcount_options *o, bool json);
/* One line for `node-agent status` ("booted a; a good, b trying (2 tries
 * left), staged"), or NULL when not booted from a slot. */
char *update_status_line(const char *root, const char *cmdline_path);
/* systemctl reboot (the live system only). */
int node_reboot(char **error);
