/* stencil - models 519.lbm_r: a lattice-Boltzmann fluid solver (D2Q9 lattice, BGK collision,
 * bounce-back obstacles, periodic edges) in double precision. Every time step reads one grid of
 * N x N cells (9 doubles = 72 bytes each) and rewrites every byte of the other, then the two are
 * swapped: a uniform sweep that dirties every page of a 72*N*N-byte array per step.
 *
 * usage: stencil [N [STEPS]]       default: 32 x 32 cells, 4 steps (2 x 72 KiB of grids)
 *
 * Self-check: streaming with bounce-back and the BGK collision both conserve mass, so the total
 * density over the fluid cells must stay the same (to rounding, relative 1e-9). The checksum
 * covers the exact bit patterns of the final grid, so it also checks that the emulator's SSE2
 * arithmetic is bit-exact.
 */
#include <string.h>
#include <prng.h>
#include "common.h"

#define USAGE "[N [STEPS]]"
#define Q 9

/* Lattice velocities, weights and opposite directions of D2Q9. */
static const int CX[Q] = {0, 1, 0, -1, 0, 1, -1, -1, 1};
static const int CY[Q] = {0, 0, 1, 0, -1, 1, 1, -1, -1};
static const int OPP[Q] = {0, 3, 4, 1, 2, 7, 8, 5, 6};
static const double W[Q] = {4.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 36, 1.0 / 36, 1.0 / 36, 1.0 / 36};

#define OMEGA 1.7

static void equilibrium(double rho, double ux, double uy, double *feq)
{
    double usq = 1.5 * (ux * ux + uy * uy);
    for (int i = 0; i < Q; i++) {
        double cu = 3.0 * (CX[i] * ux + CY[i] * uy);
        feq[i] = W[i] * rho * (1.0 + cu + 0.5 * cu * cu - usq);
    }
}

/* One step: pull-stream from src (bounce back from solid neighbours) and collide into dst. */
static void step(const double *src, double *dst, const unsigned char *solid, long n)
{
    for (long y = 0; y < n; y++) {
        long yup = y + 1 == n ? 0 : y + 1, ydn = y == 0 ? n - 1 : y - 1;
        for (long x = 0; x < n; x++) {
            long c = y * n + x;
            double *d = dst + c * Q;
            if (solid[c]) {
                memcpy(d, src + c * Q, Q * sizeof *d);
                continue;
            }
            long xr = x + 1 == n ? 0 : x + 1, xl = x == 0 ? n - 1 : x - 1;
            /* source cell of each direction: x - c_i */
            long from[Q] = {c,
                            y * n + xl, ydn * n + x, y * n + xr, yup * n + x,
                            ydn * n + xl, ydn * n + xr, yup * n + xr, yup * n + xl};
            double f[Q];
            for (int i = 0; i < Q; i++) {
                long s = from[i];
                f[i] = solid[s] ? src[c * Q + OPP[i]] : src[s * Q + i];
            }
            double rho = 0, mx = 0, my = 0;
            for (int i = 0; i < Q; i++) {
                rho += f[i];
                mx += CX[i] * f[i];
                my += CY[i] * f[i];
            }
            double feq[Q];
            equilibrium(rho, mx / rho, my / rho, feq);
            for (int i = 0; i < Q; i++) d[i] = f[i] - OMEGA * (f[i] - feq[i]);
        }
    }
}

static double fluid_mass(const double *g, const unsigned char *solid, long cells)
{
    double m = 0;
    for (long c = 0; c < cells; c++) {
        if (solid[c]) continue;
        double s = 0;
        for (int i = 0; i < Q; i++) s += g[c * Q + i];
        m += s;
    }
    return m;
}

int main(int argc, char **argv)
{
    long n = (long)arg_num(argc, argv, 1, 32, 8, 16384, USAGE);
    unsigned long steps = arg_num(argc, argv, 2, 4, 1, 1UL << 40, USAGE);
    long cells = n * n;
    printf("stencil: D2Q9 lattice Boltzmann, %ld x %ld cells, %lu steps, 2 grids of %ld KiB "
           "(models 519.lbm_r)\n", n, n, steps, cells * Q * 8 / 1024);

    double *a = xmalloc((size_t)cells * Q * sizeof *a);
    double *b = xmalloc((size_t)cells * Q * sizeof *b);
    unsigned char *solid = xmalloc((size_t)cells);

    /* Obstacles: a few discs, away from nothing in particular (periodic domain). */
    prng_t rng;
    prng_seed(&rng, 519);
    memset(solid, 0, (size_t)cells);
    long nsolid = 0;
    for (int k = 0; k < 4; k++) {
        long cx = (long)prng_below(&rng, (uint64_t)n), cy = (long)prng_below(&rng, (uint64_t)n);
        long r = n / 10 + 1;
        for (long dy = -r; dy <= r; dy++) {
            for (long dx = -r; dx <= r; dx++) {
                if (dx * dx + dy * dy > r * r) continue;
                long x = (cx + dx + n) % n, y = (cy + dy + n) % n;
                if (!solid[y * n + x]) nsolid++;
                solid[y * n + x] = 1;
            }
        }
    }

    /* Initial state: equilibrium of a slightly perturbed density and a uniform flow. */
    for (long c = 0; c < cells; c++) {
        double rho = 1.0 + 0.02 * (prng_unit(&rng) - 0.5);
        double ux = solid[c] ? 0 : 0.05 + 0.01 * (prng_unit(&rng) - 0.5);
        double uy = solid[c] ? 0 : 0.01 * (prng_unit(&rng) - 0.5);
        equilibrium(rho, ux, uy, a + c * Q);
    }
    double m0 = fluid_mass(a, solid, cells);

    for (unsigned long s = 0; s < steps; s++) {
        step(a, b, solid, n);
        double *t = a;
        a = b;
        b = t;
    }

    double m1 = fluid_mass(a, solid, cells);
    double rel = (m1 - m0) / m0;
    if (rel < 0) rel = -rel;
    double vmax2 = 0;
    for (long c = 0; c < cells; c++) {
        if (solid[c]) continue;
        double rho = 0, mx = 0, my = 0;
        for (int i = 0; i < Q; i++) {
            rho += a[c * Q + i];
            mx += CX[i] * a[c * Q + i];
            my += CY[i] * a[c * Q + i];
        }
        double v2 = (mx * mx + my * my) / (rho * rho);
        if (v2 > vmax2) vmax2 = v2;
    }

    cksum_t ck;
    cksum_init(&ck);
    cksum_bytes(&ck, a, (size_t)cells * Q * sizeof *a);
    printf("solid cells=%ld fluid mass x1e6: initial=%lu final=%lu\n", nsolid,
           (unsigned long)(m0 * 1e6 + 0.5), (unsigned long)(m1 * 1e6 + 0.5));
    printf("max speed^2 x1e9=%lu\n", (unsigned long)(vmax2 * 1e9 + 0.5));
    check("mass conserved (relative change < 1e-9)", rel < 1e-9);
    check("density positive", m1 > 0);
    return finish(&ck);
}
