/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The last seed a node applied, kept under <root>/var/lib/node-agent/seed/
 * (0600 files in a 0700 directory on the data partition: they hold the
 * token and, on the master, the CA key, which kubeadm keeps on that
 * partition anyway). A configured node whose seed medium was removed (as
 * FLEET.md suggests for the secrets it carries) boots from this copy: its
 * every-boot steps run and it stays configured. Only a node whose success
 * sentinel names the cached seed's instance uses it. */

#include <stdbool.h>

struct seed;

/* Keeps SEED as the node's last applied seed. -errno. */
int seedcache_save(const char *root, const struct seed *seed);
/* The kept seed (source "cache:/var/lib/node-agent/seed"); -ENOENT when
 * there is none. */
int seedcache_load(const char *root, struct seed *ret);
/* Whether SEED is the kept copy (seedcache_load's), not a delivered one. */
bool seedcache_is_source(const struct seed *seed);
