/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A rollout's trust: the cluster CA (minted, or the operator's), its pin,
 * one bootstrap token with its expiry, and the rollout's id. */

#include <time.h>
#include "basic/secret.h"
#include "fleet/seedgen.h"

struct trust {
        char *ca_cert;
        secret ca_key;
        char *ca_hash;
        secret token;
        time_t expires;
        char *rollout;
};

/* Mints (or loads o->ca_cert_file/ca_key_file) and fills t; -errno. */
int trust_load(const struct seedgen_options *o, struct trust *t);
void trust_done(struct trust *t);
