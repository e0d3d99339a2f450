/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "agent/plan.h"
#include "basic/strv.h"
#include "shared/manifests.h"

static int plan_add(struct plan *p, const char *name, const struct step_type *t, const void *data) {
        struct step *s = realloc(p->steps, (p->n + 1) * sizeof(*s));
        if (!s)
                return -ENOMEM;
        p->steps = s;
        char *n = strdup(name);
        if (!n)
                return -ENOMEM;
        p->steps[p->n++] = (struct step) { .name = n, .type = t, .data = data };
        return 0;
}

static bool file_applies(const struct role_file *f, const struct node_config *c) {
        return !f->when_lb_mode || (c->lb.mode != LB_MODE_NONE && STREQ(f->when_lb_mode, lb_mode_to_string(c->lb.mode)));
}

static int add_files(struct plan *p, const struct node_config *c, const struct role *role) {
        for (size_t i = 0; i < role->n_files; i++) {
                const struct role_file *f = &role->files[i];
                _cleanup_free_ char *name = NULL;
                if (!file_applies(f, c))
                        continue;
                if (asprintf(&name, "file:%s", f->dest) < 0)
                        return -ENOMEM;
                int r = plan_add(p, name, &step_type_file, f);
                if (r < 0)
                        return r;
        }
        return 0;
}

int plan_build(const struct node_config *c, const struct role *role, struct plan *ret) {
        struct plan p = {};
        int r = plan_add(&p, "hostname", &step_type_hostname, NULL);
        /* also without a network in the seed: a seed that stopped giving
         * one takes the node back to the image's DHCP (step-network.c) */
        if (r >= 0)
                r = plan_add(&p, "network", &step_type_network, NULL);
        if (r >= 0 && c->ssh_authorized_keys)
                r = plan_add(&p, "ssh-keys", &step_type_ssh_keys, NULL);
        if (r >= 0 && role->swap_off)
                r = plan_add(&p, "swap", &step_type_swap, NULL);
        /* modules before sysctls: net.bridge.* exists only once br_netfilter is loaded */
        if (r >= 0 && role->kernel_modules && role->kernel_modules[0])
                r = plan_add(&p, "kernel-modules", &step_type_kernel_modules, NULL);
        if (r >= 0 && role->n_sysctls > 0)
                r = plan_add(&p, "sysctl", &step_type_sysctl, NULL);
        if (r >= 0 && role->n_limits > 0)
                r = plan_add(&p, "limits", &step_type_limits, NULL);
        if (r >= 0 && role->n_volumes > 0)
                r = plan_add(&p, "volumes", &step_type_volumes, NULL);
        if (r >= 0)
                r = add_files(&p, c, role);
        if (r >= 0 && role->n_services > 0)
                r = plan_add(&p, "services", &step_type_services, NULL);
        if (r >= 0 && role->images && role->images[0])
                r = plan_add(&p, "images", &step_type_images, NULL);
        /* kubeadm needs docker running and the control-plane/pause images loaded */
        if (r >= 0 && (STREQ(role->kubernetes, "init") || STREQ(role->kubernetes, "join")))
                r = plan_add(&p, "kubeadm", &step_type_kubeadm, NULL);
        /* after kubeadm: the manifests need the API server it started */
        if (r >= 0 && role->manifests)
                r = plan_add(&p, "manifests", &step_type_manifests, NULL);
        if (r >= 0 && role->manifests && role->manifests->label_key)
                r = plan_add(&p, "node-labels", &step_type_node_labels, NULL);
        if (r < 0) {
                plan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

void plan_done(struct plan *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->steps[i].name);
        free(p->steps);
        *p = (struct plan) {};
}

void plan_print(const struct plan *p, FILE *f) {
        for (size_t i = 0; i < p->n; i++)
                fprintf(f, "%2zu. %-40s %s%s\n", i + 1, p->steps[i].name, p->steps[i].type->kind,
                        p->steps[i].type->every_boot ? " (every boot)" : "");
}
