/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Renderers turn the config into the text of one file a role declares
 * (role.yaml `files: - renderer: <name>`). They are pure: no I/O, same input,
 * same bytes. A new renderer is one file render-<name>.c plus a line in
 * renderer.c's table. */

#include <stdio.h>
#include "shared/basepkg.h"
#include "shared/config.h"
#include "shared/role.h"

struct render_ctx {
        const struct node_config *config;
        const struct role *role;
        const struct role_catalog *catalog;
        const struct base_packages *packages;   /* the image's (basepkg.h); NULL: none known */
};

struct renderer {
        const char *name;
        /* Returns 0 and a new string in *ret, or a negative errno with a
         * one-line reason in *error (new string). */
        int (*render)(const struct render_ctx *ctx, char **ret, char **error);
};

const struct renderer *renderer_find(const char *name);

/* A renderer's text through a memory stream: emit writes to f and returns
 * 0 or a negative errno (why in *error). */
int render_text(const struct render_ctx *ctx, int (*emit)(const struct render_ctx *ctx, FILE *f, char **error),
                char **ret, char **error);
