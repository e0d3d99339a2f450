/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `node-agent health`: whether this boot counts as good (image/README.md,
 * "SLOTS AND UPDATES": nodeos-health.service, which boot-complete.target
 * requires). Every check prints one line, "health: ok: ..." or
 * "health: FAILED: ...":
 *   verity    for base and layer whose nodeos.X.verity= is on the kernel
 *             command line, /dev/mapper/nodeos-X exists (the initramfs
 *             opened it); under the root, so a test tree can hold it
 *   overlay   / is an overlayfs (the read-only base and layer under the
 *             data partition's upper layer); skipped with --root: a test
 *             tree is a directory, not the boot's mount
 *   agent     the agent's run completed (state.h: result success and the
 *             success sentinel naming the instance)
 *   services  every unit the role's services list starts on this node (its
 *             lb mode applied, from the kept seed) is active; skipped with
 *             --root: there is no service manager to ask
 * Returns the exit status: 0 healthy; 1, with the first failing check's
 * reason written to HEALTH_FAILURE_FILE (what `update --failed-boot`
 * records), or removed when healthy. */

#define HEALTH_FAILURE_FILE "/run/nodeos/health-failure"

struct health_options {
        const char *root;               /* "/" or a test tree */
        const char *cmdline_path;       /* NULL: /proc/cmdline */
        const char *roles_dir;          /* the role catalog */
};

int health_run(const struct health_options *o);
