/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's run: fetch the seed, validate it completely, then apply the
 * plan step by step, recording each step in the state file. Nothing is
 * applied from a seed that fails validation. A completed instance only
 * re-runs its every-boot steps; when no seed is delivered it runs them from
 * its kept copy (seedcache.h) and stays configured. A failed step stops the run with a failed
 * sentinel naming it; a rerun resumes at the first step not done. */

#include <stdbool.h>

struct engine_options {
        const char *root;               /* "/" or a tree (--root) */
        const char *seed_dir;           /* NULL: the datasources, in order */
        const char *roles_dir;          /* the role catalog */
        const char *image_store;        /* in root; default /usr/share/nodeos/images */
        const char *image_role_file;    /* in root; default /usr/share/nodeos/role */
        const char *docker_socket;      /* NULL: default */
        const char *cmdline_path;       /* NULL: /proc/cmdline */
        const char *by_label_dir;       /* NULL: /dev/disk/by-label (tests give an empty one) */
};

/* Returns the process exit status: 0 configured, 1 failed. */
int engine_run(const struct engine_options *o);
