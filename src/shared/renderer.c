/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
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

int render_text(const struct render_ctx *ctx, int (*emit)(const struct render_ctx *ctx, FILE *f, char **error),
                char **ret, char **error) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        int r = emit(ctx, f, error);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(text);
                return r;
        }
        *ret = text;
        return 0;
}
