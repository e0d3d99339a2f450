/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Which seeds a configured node takes. A seed from the fleet tool is
 * signed with its rollout's Ed25519 key (meta-data nodeos-seed-key and
 * nodeos-seed-signature; seed.c checks that the signature verifies with
 * the key it names). At its first successful provisioning a node pins that
 * key (<root>/var/lib/node-agent/seed-key.pub). Afterwards:
 *
 *   seed                                   pinned key            no pinned key
 *   new instance-id, signed by the pin     re-provisions         -
 *   new instance-id, otherwise             refused               refused, unless `node-agent allow-reprovision`
 *   same instance-id, signed by the pin    converges             -
 *   same instance-id, the kept copy        converges             converges
 *   same instance-id, otherwise            refused               converges
 *
 * A node that is not configured (never provisioned, or its last run
 * failed) takes any valid seed. A refused seed changes nothing: the node
 * runs on from its kept copy (seedcache.h) and stays configured. */

#include <stdbool.h>

struct seed;
struct state;
struct node_config;

/* 0 when the node takes the seed; -EPERM with the reason in *why (new
 * string) when it refuses it; other -errno. *used_override is set when the
 * local allow-reprovision permission was what let it through. */
int seedtrust_check(const char *root, const struct state *state, const struct seed *seed, const struct node_config *cfg,
                    bool *used_override, char **why);
/* After a successful run from this seed: pins its key if the node has none
 * pinned, and uses up the allow-reprovision permission. */
int seedtrust_commit(const char *root, const struct node_config *cfg, bool used_override);
/* `node-agent allow-reprovision`: the next seed with a new instance-id is
 * taken once, signed or not. */
int seedtrust_allow_reprovision(const char *root);
