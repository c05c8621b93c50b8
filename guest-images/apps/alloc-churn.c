/* alloc-churn - models 502.gcc_r's memory behaviour: a compiler-like program that, for each of
 * FUNCS generated "functions",
 *   - parses: builds an expression/statement tree of small heap nodes (plus variable-sized child
 *     arrays) and interns identifiers in a global symbol hash table that keeps growing (its
 *     bucket array is reallocated as it grows, eventually through mmap/munmap);
 *   - folds constants (freeing folded subtrees, allocating new leaves);
 *   - value-numbers subtrees in a per-function hash table (calloc, freed after the pass);
 *   - "allocates registers" with a byte-per-pair conflict matrix, mostly big enough to be
 *     mmapped (fresh zero pages every function, all touched, munmapped at the end of it);
 *   - emits code into a vector grown with realloc, and frees the tree.
 * The emitted code of every function is retained; after each function a random older one is freed
 * with probability 1/2, so the heap keeps growing (fresh brk pages) while free lists churn.
 *
 * usage: alloc-churn [FUNCS]        default: 16 functions
 */
#include <string.h>
#include <prng.h>
#include "common.h"

#define USAGE "[FUNCS]"

enum kind { K_CONST, K_VAR, K_ADD, K_SUB, K_MUL, K_XOR, K_SHL, K_CALL, K_ASSIGN, K_SEQ, NKINDS };

struct sym {
    struct sym *next; /* hash chain */
    uint64_t hash;
    uint32_t id;
    uint32_t uses;
    char *name;
};

struct node {
    uint8_t kind;
    uint8_t nkids;
    uint16_t vreg;
    uint32_t line;
    int64_t value;       /* K_CONST */
    struct sym *sym;     /* K_VAR, K_ASSIGN target, K_CALL callee */
    struct node **kids;  /* K_CALL, K_SEQ: malloc'd array; binary ops: points at pair */
    struct node *pair[2];
};

struct unit {
    uint32_t *code;
    size_t len;
    uint64_t sum; /* checksum of code when emitted */
};

static prng_t rng;

/* ---- symbol table ---- */
static struct sym **buckets;
static size_t nbuckets, nsyms;
static struct sym **all_syms; /* by id */
static size_t all_cap;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325UL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3UL;
    return h;
}

static void table_grow(void)
{
    size_t nb = nbuckets ? nbuckets * 2 : 512;
    struct sym **nbk = xcalloc(nb, sizeof *nbk);
    for (size_t i = 0; i < nbuckets; i++) {
        for (struct sym *s = buckets[i], *next; s; s = next) {
            next = s->next;
            s->next = nbk[s->hash & (nb - 1)];
            nbk[s->hash & (nb - 1)] = s;
        }
    }
    free(buckets);
    buckets = nbk;
    nbuckets = nb;
}

static struct sym *intern(const char *name)
{
    uint64_t h = hash_str(name);
    if (nbuckets) {
        for (struct sym *s = buckets[h & (nbuckets - 1)]; s; s = s->next) {
            if (s->hash == h && strcmp(s->name, name) == 0) {
                s->uses++;
                return s;
            }
        }
    }
    if (nsyms >= nbuckets * 2) table_grow();
    struct sym *s = xmalloc(sizeof *s);
    s->hash = h;
    s->id = (uint32_t)nsyms;
    s->uses = 1;
    size_t len = strlen(name) + 1;
    s->name = xmalloc(len);
    memcpy(s->name, name, len);
    s->next = buckets[h & (nbuckets - 1)];
    buckets[h & (nbuckets - 1)] = s;
    if (nsyms == all_cap) {
        all_cap = all_cap ? all_cap * 2 : 64;
        all_syms = xrealloc(all_syms, all_cap * sizeof *all_syms);
    }
    all_syms[nsyms++] = s;
    return s;
}

/* An identifier occurrence: a new random name (1 in 6), else an existing one, biased to recent
   ones; either way looked up by name as a front end would. */
static struct sym *identifier(void)
{
    char name[16];
    if (nsyms == 0 || prng_below(&rng, 6) == 0) {
        unsigned len = 3 + (unsigned)prng_below(&rng, 10);
        for (unsigned i = 0; i < len; i++) name[i] = (char)('a' + prng_below(&rng, 26));
        name[len] = 0;
        return intern(name);
    }
    uint64_t back = prng_below(&rng, nsyms < 256 ? nsyms : 256);
    if (prng_below(&rng, 4) == 0) back = prng_below(&rng, nsyms);
    return intern(all_syms[nsyms - 1 - back]->name);
}

/* ---- trees ---- */
static unsigned long nodes_made, nodes_freed, consts_folded;
static uint32_t line_no;

static struct node *new_node(enum kind k)
{
    struct node *n = xmalloc(sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)k;
    n->line = line_no;
    nodes_made++;
    return n;
}

static void free_tree(struct node *n)
{
    for (unsigned i = 0; i < n->nkids; i++) free_tree(n->kids[i]);
    if (n->kind == K_CALL || n->kind == K_SEQ) free(n->kids);
    free(n);
    nodes_freed++;
}

static struct node *gen_expr(int depth)
{
    struct node *n;
    uint64_t r = prng_below(&rng, 100);
    if (depth == 0 || r < 25) {
        if (prng_below(&rng, 2)) {
            n = new_node(K_CONST);
            n->value = (int64_t)prng_below(&rng, 1000) - 100;
        } else {
            n = new_node(K_VAR);
            n->sym = identifier();
        }
    } else if (r < 35) {
        n = new_node(K_CALL);
        n->sym = identifier();
        n->nkids = (uint8_t)prng_below(&rng, 7);
        n->kids = xmalloc((n->nkids ? n->nkids : 1) * sizeof *n->kids);
        for (unsigned i = 0; i < n->nkids; i++) n->kids[i] = gen_expr(depth - 1);
    } else {
        n = new_node((enum kind)(K_ADD + prng_below(&rng, 5)));
        n->nkids = 2;
        n->kids = n->pair;
        n->pair[0] = gen_expr(depth - 1);
        n->pair[1] = gen_expr(depth - 1);
    }
    return n;
}

static struct node *gen_function(void)
{
    struct node *body = new_node(K_SEQ);
    body->nkids = (uint8_t)(8 + prng_below(&rng, 40));
    body->kids = xmalloc(body->nkids * sizeof *body->kids);
    for (unsigned i = 0; i < body->nkids; i++) {
        line_no++;
        struct node *st;
        if (prng_below(&rng, 5) == 0) {
            st = gen_expr(3);
            if (st->kind != K_CALL) { /* expression statement: wrap as an assignment to a temp */
                struct node *a = new_node(K_ASSIGN);
                a->sym = identifier();
                a->nkids = 1;
                a->kids = a->pair;
                a->pair[0] = st;
                st = a;
            }
        } else {
            st = new_node(K_ASSIGN);
            st->sym = identifier();
            st->nkids = 1;
            st->kids = st->pair;
            st->pair[0] = gen_expr(2 + (int)prng_below(&rng, 4));
        }
        body->kids[i] = st;
    }
    return body;
}

/* Constant folding: a binary operator over two constants becomes a new constant leaf. */
static struct node *fold(struct node *n)
{
    for (unsigned i = 0; i < n->nkids; i++) n->kids[i] = fold(n->kids[i]);
    if (n->kind < K_ADD || n->kind > K_SHL) return n;
    struct node *a = n->pair[0], *b = n->pair[1];
    if (a->kind != K_CONST || b->kind != K_CONST) return n;
    int64_t x = a->value, y = b->value, v;
    switch (n->kind) {
    case K_ADD: v = x + y; break;
    case K_SUB: v = x - y; break;
    case K_MUL: v = (int64_t)((uint64_t)x * (uint64_t)y); break;
    case K_XOR: v = x ^ y; break;
    default: v = (int64_t)((uint64_t)x << (y & 31)); break;
    }
    struct node *c = new_node(K_CONST);
    c->value = v;
    c->line = n->line;
    free_tree(n);
    consts_folded++;
    return c;
}

static uint64_t count_nodes(const struct node *n)
{
    uint64_t k = 1;
    for (unsigned i = 0; i < n->nkids; i++) k += count_nodes(n->kids[i]);
    return k;
}

/* ---- value numbering ---- */
struct vn_table {
    uint64_t *slots; /* 0 = empty */
    size_t mask;
    unsigned long dups;
};

static uint64_t value_number(struct vn_table *t, const struct node *n)
{
    uint64_t h = mix64(n->kind * 0x100000001b3UL + (uint64_t)n->value);
    if (n->sym) h = mix64(h ^ n->sym->id);
    for (unsigned i = 0; i < n->nkids; i++) h = mix64(h + value_number(t, n->kids[i]) * (i + 1));
    if (h == 0) h = 1;
    size_t i = h & t->mask;
    while (t->slots[i] && t->slots[i] != h) i = (i + 1) & t->mask;
    if (t->slots[i] == h) t->dups++;
    t->slots[i] = h;
    return h;
}

/* ---- register allocation and code emission ---- */
struct code_vec {
    uint32_t *v;
    size_t len, cap;
};

static void emit(struct code_vec *c, uint32_t insn)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->len++] = insn;
}

static uint16_t next_vreg;

static uint16_t gen_code(struct code_vec *c, struct node *n)
{
    uint16_t regs[64];
    for (unsigned i = 0; i < n->nkids; i++) regs[i & 63] = gen_code(c, n->kids[i]);
    n->vreg = next_vreg++;
    uint32_t operand;
    switch (n->kind) {
    case K_CONST: operand = (uint32_t)n->value & 0xffff; break;
    case K_VAR:
    case K_ASSIGN:
    case K_CALL: operand = n->sym->id & 0xffff; break;
    default: operand = n->nkids >= 2 ? (uint32_t)(regs[0] ^ (regs[1] << 4)) & 0xffff : 0; break;
    }
    emit(c, (uint32_t)n->kind << 28 | (uint32_t)(n->nkids & 0xf) << 24 | (n->vreg & 0xff) << 16 | operand);
    return n->vreg;
}

/* Interference (conflict cost) matrix over the function's virtual registers, one byte per pair:
   each value interferes with the next few defined after it (a crude live range). nregs^2 bytes,
   so most functions' matrices are mmapped: fresh pages, every one of them touched, then unmapped. */
static unsigned long allocate_registers(unsigned nregs, cksum_t *ck)
{
    size_t n = nregs;
    uint8_t *m = xcalloc(n ? n * n : 1, 1);
    unsigned long edges = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned span = 1 + (unsigned)prng_below(&rng, 6);
        for (size_t j = i + 1; j < n && j <= i + span; j++) {
            uint8_t w = (uint8_t)(1 + (i ^ j) % 7);
            m[i * n + j] += w;
            m[j * n + i] += w;
            edges++;
        }
    }
    /* greedy colouring, looking back over the previous eight values */
    unsigned maxcolour = 0;
    uint64_t cost = 0;
    uint8_t *colour = xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        uint32_t used = 0;
        for (size_t j = i >= 8 ? i - 8 : 0; j < i; j++) {
            if (m[i * n + j]) {
                used |= 1u << colour[j];
                cost += m[i * n + j];
            }
        }
        unsigned col = 0;
        while (used >> col & 1) col++;
        colour[i] = (uint8_t)col;
        if (col > maxcolour) maxcolour = col;
    }
    cksum_u64(ck, maxcolour);
    cksum_u64(ck, cost);
    free(colour);
    free(m);
    return edges;
}

int main(int argc, char **argv)
{
    unsigned long funcs = arg_num(argc, argv, 1, 16, 1, 1UL << 32, USAGE);
    printf("alloc-churn: %lu functions: trees, symbol hash table, value numbering, code vectors "
           "(models 502.gcc_r)\n", funcs);
    prng_seed(&rng, 502);
    cksum_t ck;
    cksum_init(&ck);

    struct unit *units = NULL;
    size_t nunits = 0, ucap = 0;
    unsigned long vn_dups = 0, edges = 0, total_code = 0, units_freed = 0;

    for (unsigned long f = 0; f < funcs; f++) {
        struct node *body = gen_function();
        body = fold(body);
        uint64_t nodes = count_nodes(body);

        struct vn_table vt;
        size_t slots = 64;
        while (slots < nodes * 2) slots *= 2;
        vt.slots = xcalloc(slots, sizeof *vt.slots);
        vt.mask = slots - 1;
        vt.dups = 0;
        value_number(&vt, body);
        vn_dups += vt.dups;
        free(vt.slots);

        struct code_vec code = {NULL, 0, 0};
        next_vreg = 0;
        gen_code(&code, body);
        edges += allocate_registers(next_vreg, &ck);
        free_tree(body);

        cksum_t uc;
        cksum_init(&uc);
        cksum_bytes(&uc, code.v, code.len * sizeof *code.v);
        if (nunits == ucap) {
            ucap = ucap ? ucap * 2 : 16;
            units = xrealloc(units, ucap * sizeof *units);
        }
        units[nunits++] = (struct unit){code.v, code.len, cksum_value(&uc)};
        cksum_u64(&ck, cksum_value(&uc));
        total_code += code.len;

        /* garbage: drop a random older unit half of the time */
        if (nunits > 1 && prng_below(&rng, 2)) {
            size_t victim = prng_below(&rng, nunits - 1);
            free(units[victim].code);
            units[victim] = units[--nunits];
            units_freed++;
        }
    }

    /* retained code must be intact */
    unsigned long corrupt = 0;
    for (size_t i = 0; i < nunits; i++) {
        cksum_t uc;
        cksum_init(&uc);
        cksum_bytes(&uc, units[i].code, units[i].len * sizeof *units[i].code);
        if (cksum_value(&uc) != units[i].sum) corrupt++;
    }
    unsigned long syms = nsyms;
    uint64_t uses = 0;
    for (size_t i = 0; i < nsyms; i++) uses += all_syms[i]->uses;

    printf("nodes made=%lu folded constants=%lu value-number duplicates=%lu interference edges=%lu\n",
           nodes_made, consts_folded, vn_dups, edges);
    printf("symbols=%lu identifier uses=%lu code words=%lu units retained=%lu freed=%lu\n", syms,
           (unsigned long)uses, total_code, (unsigned long)nunits, units_freed);

    /* tear everything down: every allocation must come back */
    for (size_t i = 0; i < nunits; i++) free(units[i].code);
    free(units);
    for (size_t i = 0; i < nsyms; i++) {
        free(all_syms[i]->name);
        free(all_syms[i]);
    }
    free(all_syms);
    free(buckets);
    struct malloc_stats ms;
    malloc_get_stats(&ms);
    printf("malloc: small allocations=%lu large (mmap) allocations=%lu\n", ms.small_allocs, ms.large_allocs);

    check("retained code intact", corrupt == 0);
    check("every tree node freed", nodes_made == nodes_freed);
    check("every allocation freed (small and mmapped)",
          ms.small_allocs == ms.small_frees && ms.large_allocs == ms.large_frees && ms.mapped_bytes == 0);
    cksum_u64(&ck, nodes_made);
    cksum_u64(&ck, consts_folded);
    cksum_u64(&ck, vn_dups);
    cksum_u64(&ck, syms);
    cksum_u64(&ck, uses);
    return finish(&ck);
}
