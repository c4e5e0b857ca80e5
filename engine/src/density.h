/* density.h -- what the kernel density core (density.c) shares with the
 * modules built on it (heatmap.c). */
#ifndef WG_DENSITY_H
#define WG_DENSITY_H

#include "ctx.h"

/* Checks kernel parameters (radius and pixel positive and finite, kernel
 * known, the kernel at most 4096 pixels wide, decay finite). Returns WG_OK or
 * WG_ERR_INVALID_ARG with a message on the context. */
wg_status wg_kde_check(wg_ctx *ctx, const wg_kde_params *p);

#endif
