/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fleet/seedgen.h"
#include "fleet/trust.h"

/* New user-data text for node nd (it holds the token and, on the master,
 * the CA key: wipe it after use), or NULL on out-of-memory. */
char *seed_user_data(const struct seedgen_options *o, const struct seedgen_plan *p, const struct trust *t,
                     const struct seedgen_node *nd);
/* The digest of what node nd's seed configures: its user-data without the
 * run's token and expiry, and its nodes.tsv line (the MAC, the lb mode).
 * Equal digests across runs mean the node's seed need not change. */
int seed_config_digest(const struct seedgen_options *o, const struct seedgen_plan *p, const struct trust *t,
                       const struct seedgen_node *nd, char **ret);
