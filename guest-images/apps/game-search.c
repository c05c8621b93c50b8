/* game-search - models 531.deepsjeng_r: game-tree search with a large transposition table.
 * The game is Connect Four (7 x 6) on bitboards; the engine is iterative-deepening negamax with
 * alpha-beta pruning, move ordering from the table and the centre, and a threat-counting
 * evaluation. Positions are identified by 64-bit Zobrist keys (random numbers), and every
 * searched node probes and most store a 16-byte table entry (key, score, depth, bound, move,
 * age, a node counter) at a key-derived index: frequent random 16-byte writes over all pages of
 * the table, of data that compress poorly. The program plays PLIES plies of self-play (new
 * games start when one ends), searching each move to DEPTH.
 *
 * usage: game-search [TABLE_MIB [DEPTH [PLIES]]]     default: 1 MiB table, depth 6, 4 plies
 */
#include <string.h>
#include <prng.h>
#include "common.h"

#define USAGE "[TABLE_MIB [DEPTH [PLIES]]]"

#define COLS 7
#define ROWS 6
#define WIN 10000
#define INF 30000

enum { BOUND_EXACT = 1, BOUND_LOWER = 2, BOUND_UPPER = 3 };

struct tt_entry { /* 16 bytes */
    uint64_t key;
    int16_t score;
    uint8_t depth;
    uint8_t bound;
    uint8_t move;
    uint8_t age;
    uint16_t count; /* low bits of the node counter when stored */
};

static struct tt_entry *tt;
static uint64_t tt_mask;
static uint8_t tt_age;
static uint64_t tt_probes, tt_hits, tt_stores, tt_used, nodes;

static uint64_t bb[2];        /* stones of each player; bit = col * 7 + row (row 6 is padding) */
static int height[COLS];
static int side, nmoves;
static uint64_t hash;
static uint64_t zobrist[2][COLS * 7], zobrist_side;

static const int ORDER[COLS] = {3, 2, 4, 1, 5, 0, 6};

/* Rows 0-5 of the 7 columns (row 6 of each column stays empty, so shifted lines do not wrap). */
static uint64_t VALID;

static uint64_t valid_mask(void)
{
    uint64_t m = 0;
    for (int c = 0; c < COLS; c++) m |= 0x3fUL << (c * 7);
    return m;
}

static int popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555UL);
    x = (x & 0x3333333333333333UL) + ((x >> 2) & 0x3333333333333333UL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fUL;
    return (int)((x * 0x0101010101010101UL) >> 56);
}

static int four_in_row(uint64_t p)
{
    static const int dir[4] = {1, 7, 6, 8};
    for (int d = 0; d < 4; d++) {
        uint64_t m = p & (p >> dir[d]);
        if (m & (m >> (2 * dir[d]))) return 1;
    }
    return 0;
}

/* Empty cells where one more stone of p would complete four in a row. */
static uint64_t threats(uint64_t p, uint64_t occupied)
{
    static const int dir[4] = {1, 7, 6, 8};
    uint64_t r = 0;
    for (int d = 0; d < 4; d++) {
        int s = dir[d];
        uint64_t l1 = p << s, l2 = p << 2 * s, l3 = p << 3 * s;
        uint64_t r1 = p >> s, r2 = p >> 2 * s, r3 = p >> 3 * s;
        r |= (l1 & l2 & l3) | (r1 & r2 & r3) | (l1 & l2 & r1) | (l1 & r1 & r2);
    }
    return r & VALID & ~occupied;
}

static int can_play(int c) { return height[c] < ROWS; }

static uint64_t move_bit(int c) { return 1UL << (c * 7 + height[c]); }

static void play(int c)
{
    int idx = c * 7 + height[c];
    bb[side] |= 1UL << idx;
    hash ^= zobrist[side][idx] ^ zobrist_side;
    height[c]++;
    side ^= 1;
    nmoves++;
}

static void unplay(int c)
{
    side ^= 1;
    height[c]--;
    nmoves--;
    int idx = c * 7 + height[c];
    bb[side] &= ~(1UL << idx);
    hash ^= zobrist[side][idx] ^ zobrist_side;
}

static uint64_t hash_from_scratch(void)
{
    uint64_t h = nmoves & 1 ? zobrist_side : 0; /* every move toggles the side key once */
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < COLS * 7; i++) {
            if (bb[s] >> i & 1) h ^= zobrist[s][i];
        }
    }
    return h;
}

static int evaluate(void)
{
    uint64_t occ = bb[0] | bb[1], me = bb[side], op = bb[side ^ 1];
    uint64_t centre = 0x3fUL << 21, near = (0x3fUL << 14) | (0x3fUL << 28);
    int t = popcount64(threats(me, occ)) - popcount64(threats(op, occ));
    int c = popcount64(me & centre) - popcount64(op & centre);
    int n = popcount64(me & near) - popcount64(op & near);
    return 8 * t + 3 * c + n;
}

static int negamax(int depth, int alpha, int beta, int ply)
{
    nodes++;
    if (nmoves == COLS * ROWS) return 0;
    for (int c = 0; c < COLS; c++) {
        if (can_play(c) && four_in_row(bb[side] | move_bit(c))) return WIN - ply;
    }
    if (depth == 0) return evaluate();

    int alpha0 = alpha, tt_move = -1;
    struct tt_entry *e = &tt[hash & tt_mask];
    tt_probes++;
    if (e->key == hash) {
        tt_hits++;
        tt_move = e->move;
        if (e->depth >= depth) {
            int s = e->score;
            if (s > WIN - 100) s -= ply;
            else if (s < -WIN + 100) s += ply;
            if (e->bound == BOUND_EXACT) return s;
            if (e->bound == BOUND_LOWER && s > alpha) alpha = s;
            if (e->bound == BOUND_UPPER && s < beta) beta = s;
            if (alpha >= beta) return s;
        }
    }

    int best = -INF, best_move = -1;
    for (int k = -1; k < COLS; k++) {
        int c = k < 0 ? tt_move : ORDER[k];
        if (c < 0 || (k >= 0 && c == tt_move) || !can_play(c)) continue;
        play(c);
        int s = -negamax(depth - 1, -beta, -alpha, ply + 1);
        unplay(c);
        if (s > best) {
            best = s;
            best_move = c;
        }
        if (s > alpha) alpha = s;
        if (alpha >= beta) break;
    }

    /* replace unless the slot holds a deeper result of the current search */
    if (e->key == hash || e->age != tt_age || e->depth <= depth) {
        int s = best;
        if (e->key == 0) tt_used++;
        if (s > WIN - 100) s += ply;
        else if (s < -WIN + 100) s -= ply;
        e->key = hash;
        e->score = (int16_t)s;
        e->depth = (uint8_t)depth;
        e->bound = best <= alpha0 ? BOUND_UPPER : best >= beta ? BOUND_LOWER : BOUND_EXACT;
        e->move = (uint8_t)best_move;
        e->age = tt_age;
        e->count = (uint16_t)nodes;
        tt_stores++;
    }
    return best;
}

/* Iterative deepening at the root; returns the chosen column, score in *score. */
static int search_root(int depth, int *score)
{
    int best_move = -1, best = 0;
    for (int d = 1; d <= depth; d++) {
        int alpha = -INF, beta = INF, iter_best = -INF, iter_move = -1;
        for (int k = -1; k < COLS; k++) {
            int c = k < 0 ? best_move : ORDER[k];
            if (c < 0 || (k >= 0 && c == best_move) || !can_play(c)) continue;
            int s;
            if (four_in_row(bb[side] | move_bit(c))) {
                s = WIN;
            } else {
                play(c);
                s = -negamax(d - 1, -beta, -alpha, 1);
                unplay(c);
            }
            if (s > iter_best) {
                iter_best = s;
                iter_move = c;
            }
            if (s > alpha) alpha = s;
        }
        best_move = iter_move;
        best = iter_best;
        if (best >= WIN - 100) break; /* forced win found */
    }
    *score = best;
    return best_move;
}

int main(int argc, char **argv)
{
    unsigned long mib = arg_num(argc, argv, 1, 1, 1, 1UL << 16, USAGE);
    int depth = (int)arg_num(argc, argv, 2, 6, 1, 42, USAGE);
    unsigned long plies = arg_num(argc, argv, 3, 4, 1, 1UL << 40, USAGE);
    uint64_t entries = (uint64_t)mib << 20 >> 4;
    printf("game-search: Connect Four self-play, %lu plies at depth %d, transposition table %lu MiB "
           "(%lu entries of 16 bytes) (models 531.deepsjeng_r)\n", plies, depth, mib, (unsigned long)entries);

    VALID = valid_mask();
    tt = xcalloc(entries, sizeof *tt);
    tt_mask = entries - 1;
    prng_t rng;
    prng_seed(&rng, 531);
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < COLS * 7; i++) zobrist[s][i] = prng_next(&rng);
    }
    zobrist_side = prng_next(&rng);

    cksum_t ck;
    cksum_init(&ck);
    unsigned long games = 1, wins = 0, draws = 0;
    int hash_ok = 1;
    for (unsigned long p = 0; p < plies; p++) {
        int c, score = 0;
        if (nmoves == 0) {
            c = (int)prng_below(&rng, COLS); /* random opening move */
        } else {
            tt_age++;
            c = search_root(depth, &score);
        }
        int won = four_in_row(bb[side] | move_bit(c));
        play(c);
        cksum_u64(&ck, (uint64_t)c << 32 ^ (uint32_t)score);
        if (hash != hash_from_scratch()) hash_ok = 0;
        if (won || nmoves == COLS * ROWS) {
            if (won) wins++;
            else draws++;
            memset(bb, 0, sizeof bb);
            memset(height, 0, sizeof height);
            side = nmoves = 0;
            hash = 0;
            if (p + 1 < plies) games++;
        }
    }

    cksum_u64(&ck, nodes);
    cksum_u64(&ck, tt_stores);
    printf("games=%lu wins=%lu draws=%lu nodes=%lu\n", games, wins, draws, (unsigned long)nodes);
    printf("table: probes=%lu hits=%lu stores=%lu entries in use=%lu of %lu\n", (unsigned long)tt_probes,
           (unsigned long)tt_hits, (unsigned long)tt_stores, (unsigned long)tt_used, (unsigned long)(tt_mask + 1));
    check("incremental Zobrist keys match recomputed keys", hash_ok);
    check("table used", tt_hits > 0 && tt_stores > 0);
    free(tt);
    return finish(&ck);
}
