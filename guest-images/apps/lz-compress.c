/* lz-compress - models 557.xz_r: an LZ77 compressor with hash chains (3-byte hashes, a head table
 * and a chain array over a 256 KiB window, lazy matching, matches up to 273 bytes) over generated
 * input: text made of a skewed vocabulary, with embedded blocks of random bytes and repeated
 * passages. The output is a byte-oriented stream of literal runs and (length, distance) matches.
 * Each round the input is compressed, decompressed and compared with the original.
 * Writes: the hash tables (scattered), the compressed stream and the decompressed copy
 * (sequential).
 *
 * usage: lz-compress [INPUT_KIB [ROUNDS]]      default: 12 KiB, 1 round
 */
#include <string.h>
#include <prng.h>
#include "common.h"

#define USAGE "[INPUT_KIB [ROUNDS]]"

#define WINDOW_BITS 18
#define WINDOW (1u << WINDOW_BITS)
#define WMASK (WINDOW - 1)
#define HASH_BITS 16
#define MIN_MATCH 3
#define MAX_MATCH 273
#define NICE_MATCH 128
#define MAX_CHAIN 48

static prng_t rng;

/* ---- input ---- */
#define VOCAB 400
static char words[VOCAB][10];
static unsigned word_len[VOCAB];

static void make_vocabulary(void)
{
    for (int i = 0; i < VOCAB; i++) {
        word_len[i] = 2 + (unsigned)prng_below(&rng, 8);
        for (unsigned k = 0; k < word_len[i]; k++) words[i][k] = (char)('a' + prng_below(&rng, 26));
    }
}

static void generate(unsigned char *buf, size_t size)
{
    size_t p = 0;
    int capital = 1;
    while (p < size) {
        uint64_t r = prng_below(&rng, 1000);
        if (r < 2 && p > 1000) { /* a block of random bytes */
            size_t n = 64 + prng_below(&rng, 448);
            for (size_t k = 0; k < n && p < size; k++) buf[p++] = (unsigned char)prng_next(&rng);
            continue;
        }
        if (r < 6 && p > 5000) { /* a repeated passage from further back */
            size_t n = 20 + prng_below(&rng, 180);
            size_t from = prng_below(&rng, p - n);
            for (size_t k = 0; k < n && p < size; k++) buf[p++] = buf[from + k];
            continue;
        }
        /* a word: index skewed toward the start of the vocabulary */
        uint64_t w = prng_below(&rng, VOCAB);
        w = w * prng_below(&rng, VOCAB) / VOCAB;
        w = w * prng_below(&rng, VOCAB) / VOCAB;
        for (unsigned k = 0; k < word_len[w] && p < size; k++) {
            char ch = words[w][k];
            buf[p++] = (unsigned char)(capital && k == 0 ? ch - 32 : ch);
        }
        capital = 0;
        uint64_t s = prng_below(&rng, 120);
        const char *sep = s < 8 ? ", " : s < 16 ? ". " : s < 19 ? ".\n" : " ";
        capital = s >= 8 && s < 19;
        for (; *sep && p < size; sep++) buf[p++] = (unsigned char)*sep;
    }
}

/* ---- compressor ---- */
static uint32_t *head; /* hash -> last position + 1 (0: none) */
static uint32_t *chain; /* position & WMASK -> previous position + 1 with the same hash */
static unsigned long matches, literals, chain_steps;

static unsigned hash3(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void insert(const unsigned char *in, size_t pos)
{
    unsigned h = hash3(in + pos);
    chain[pos & WMASK] = head[h];
    head[h] = (uint32_t)pos + 1;
}

/* Longest match for position pos (among positions already inserted); returns its length. */
static size_t longest_match(const unsigned char *in, size_t size, size_t pos, size_t *dist)
{
    size_t best = 0, limit = size - pos < MAX_MATCH ? size - pos : MAX_MATCH;
    if (limit < MIN_MATCH) return 0;
    uint32_t cand = head[hash3(in + pos)];
    for (int steps = MAX_CHAIN; cand && steps > 0; steps--) {
        size_t c = cand - 1;
        if (c >= pos || pos - c > WINDOW) break;
        chain_steps++;
        if (in[c + best] == in[pos + best] && in[c] == in[pos]) {
            size_t len = 0;
            while (len < limit && in[c + len] == in[pos + len]) len++;
            if (len > best) {
                best = len;
                *dist = pos - c;
                if (len >= NICE_MATCH || len == limit) break;
            }
        }
        uint32_t next = chain[c & WMASK];
        if (next >= cand) break; /* stale entry from an older window */
        cand = next;
    }
    if (best == MIN_MATCH && *dist > 16384) return 0; /* would cost more than three literals */
    return best >= MIN_MATCH ? best : 0;
}

static size_t put_varint(unsigned char *out, size_t o, uint64_t v)
{
    while (v >= 0x80) {
        out[o++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[o++] = (unsigned char)v;
    return o;
}

static size_t flush_literals(unsigned char *out, size_t o, const unsigned char *lit, size_t n)
{
    while (n) {
        size_t k = n < 128 ? n : 128;
        out[o++] = (unsigned char)(k - 1);
        memcpy(out + o, lit, k);
        o += k;
        lit += k;
        n -= k;
        literals += k;
    }
    return o;
}

static size_t put_match(unsigned char *out, size_t o, size_t len, size_t dist)
{
    size_t l = len - MIN_MATCH;
    if (l < 127) {
        out[o++] = (unsigned char)(0x80 | l);
    } else {
        out[o++] = 0xff;
        o = put_varint(out, o, l - 127);
    }
    matches++;
    return put_varint(out, o, dist - 1);
}

static size_t compress(const unsigned char *in, size_t size, unsigned char *out)
{
    memset(head, 0, sizeof *head << HASH_BITS);
    memset(chain, 0, sizeof *chain * WINDOW);
    size_t o = 0, pos = 0, lit_start = 0;
    while (pos < size) {
        size_t dist = 0, len = longest_match(in, size, pos, &dist);
        size_t insert_from = pos; /* first position of the match not yet in the hash chains */
        if (len && len < NICE_MATCH) {
            /* lazy evaluation: if the next byte starts a longer match, emit this one as a literal */
            insert(in, pos);
            insert_from = pos + 1;
            size_t dist2 = 0, len2 = longest_match(in, size, pos + 1, &dist2);
            if (len2 > len) {
                pos++;
                len = len2;
                dist = dist2;
            }
        }
        if (len) {
            o = flush_literals(out, o, in + lit_start, pos - lit_start);
            o = put_match(out, o, len, dist);
            for (size_t p = insert_from; p < pos + len && p + MIN_MATCH <= size; p++) insert(in, p);
            pos += len;
            lit_start = pos;
        } else {
            if (pos + MIN_MATCH <= size) insert(in, pos);
            pos++;
        }
    }
    return flush_literals(out, o, in + lit_start, pos - lit_start);
}

/* Returns the decompressed size, or (size_t)-1 for a malformed stream. */
static size_t decompress(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned t = in[i++];
        if (t < 0x80) {
            size_t k = t + 1;
            if (i + k > n || o + k > cap) return (size_t)-1;
            memcpy(out + o, in + i, k);
            i += k;
            o += k;
            continue;
        }
        size_t len = t & 0x7f;
        if (len == 127) {
            uint64_t v = 0;
            for (int s = 0; i < n; s += 7) {
                v |= (uint64_t)(in[i] & 0x7f) << s;
                if (!(in[i++] & 0x80)) break;
            }
            len += v;
        }
        len += MIN_MATCH;
        uint64_t dist = 0;
        for (int s = 0; i < n; s += 7) {
            dist |= (uint64_t)(in[i] & 0x7f) << s;
            if (!(in[i++] & 0x80)) break;
        }
        dist += 1;
        if (dist > o || o + len > cap) return (size_t)-1;
        for (size_t k = 0; k < len; k++, o++) out[o] = out[o - dist];
    }
    return o;
}

int main(int argc, char **argv)
{
    unsigned long kib = arg_num(argc, argv, 1, 12, 1, 1UL << 22, USAGE);
    unsigned long rounds = arg_num(argc, argv, 2, 1, 1, 1UL << 40, USAGE);
    size_t size = kib * 1024;
    printf("lz-compress: %lu round(s) of LZ77 with hash chains over %lu KiB of generated input, "
           "%u KiB window (models 557.xz_r)\n", rounds, kib, WINDOW / 1024);

    prng_seed(&rng, 557);
    make_vocabulary();
    unsigned char *in = xmalloc(size);
    size_t out_cap = size + size / 64 + 64; /* worst case: literal runs cost 1 byte per 128 */
    unsigned char *out = xmalloc(out_cap);
    unsigned char *back = xmalloc(size);
    head = xmalloc(sizeof *head << HASH_BITS);
    chain = xmalloc(sizeof *chain * WINDOW);

    cksum_t ck;
    cksum_init(&ck);
    unsigned long total_in = 0, total_out = 0, bad = 0;
    for (unsigned long r = 0; r < rounds; r++) {
        generate(in, size);
        size_t n = compress(in, size, out);
        size_t m = decompress(out, n, back, size);
        if (m != size || memcmp(in, back, size) != 0) bad++;
        cksum_bytes(&ck, out, n);
        total_in += size;
        total_out += n;
    }
    printf("input=%lu bytes compressed=%lu bytes (%lu.%02lu%%) matches=%lu literals=%lu chain steps=%lu\n",
           total_in, total_out, total_out * 100 / total_in, total_out * 10000 / total_in % 100, matches,
           literals, chain_steps);
    check("decompressed output equals the input", bad == 0);
    check("output smaller than input", total_out < total_in);
    free(in);
    free(out);
    free(back);
    free(head);
    free(chain);
    return finish(&ck);
}
