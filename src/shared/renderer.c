/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "basic/macro.h"
#include "shared/renderer.h"

extern const struct renderer renderer_haproxy, renderer_nginx, renderer_docker_daemon,
        renderer_kubeadm_init, renderer_kubeadm_join;

static const struct renderer * const renderers[] = {
        &renderer_haproxy, &renderer_nginx, &renderer_docker_daemon, &renderer_kubeadm_init, &renderer_kubeadm_join,
};

const struct renderer *renderer_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(renderers); i++)
                if (STREQ(renderers[i]->name, name))
                        return renderers[i];
        return NULL;
}
