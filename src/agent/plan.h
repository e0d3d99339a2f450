/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* config + role -> the ordered list of steps for this node. The order is
 * fixed (host identity, kernel prerequisites, files, services, images,
 * cluster); which steps appear, and with what, is the role's data. */

#include "agent/steps/step.h"

struct plan {
        size_t n;
        struct step *steps;
};

int plan_build(const struct node_config *c, const struct role *role, struct plan *ret);
void plan_done(struct plan *p);
/* Prints "N. name  (kind)" lines, for `node-agent plan`. */
void plan_print(const struct plan *p, FILE *f);
