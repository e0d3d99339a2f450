/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>
#include "basic/diag.h"
#include "fleet/seedgen.h"
#include "fleet/trust.h"

/* DIR/meta-data and DIR/user-data, 0600, DIR made 0700. */
int write_seed_dir(const char *dir, const char *meta, const char *user);
/* The agent's own validation of the seed written in DIR. */
int validate_seed(const struct seedgen_options *o, const char *dir, struct diag *d);
/* DIR/cidata.iso with xorriso (or genisoimage), 0600. */
int make_iso(const char *dir, struct diag *d);
/* nodes.tsv (no secrets) into OUT, and the CA: ca.crt and ca.key (0600)
 * written from t, or with FROM (a rollout's directory) linked from there, so
 * that a rollout's key file is never rewritten. */
int write_manifest(const char *out, const struct seedgen_plan *p, const struct trust *t, const char *from);
