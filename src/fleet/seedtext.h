/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fleet/seedgen.h"
#include "fleet/trust.h"

/* New user-data text for node nd (it holds the token and, on the master,
 * the CA key: wipe it after use), or NULL on out-of-memory. */
char *seed_user_data(const struct seedgen_options *o, const struct seedgen_plan *p, const struct trust *t,
                     const struct seedgen_node *nd);
