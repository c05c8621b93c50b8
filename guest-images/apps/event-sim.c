/* event-sim - models 520.omnetpp_r: a discrete-event simulation of a packet network. NODES nodes
 * (each a separately allocated module object, a neighbour table and a statistics record) pass
 * messages (small heap objects) over links with fixed delays, routing greedily around a ring with
 * random chords. A binary-heap future-event list
 * orders deliveries by (time, sequence number). Each event updates one node's counters and
 * queue state and either forwards the message to a neighbour, or delivers it (freed) and
 * generates a new one elsewhere; some nodes also emit extra control messages and some messages are
 * dropped, keeping the population roughly constant. Writes are small and scattered over many
 * objects (sparse), plus the heap array.
 *
 * usage: event-sim [NODES [EVENTS]]        default: 2000 nodes, 5000 events
 */
#include <string.h>
#include <prng.h>
#include "common.h"

#define USAGE "[NODES [EVENTS]]"

struct stats {
    uint64_t rx, tx, delivered, dropped, bytes;
    uint64_t busy_until; /* the output link is serialising until then */
    uint64_t max_queue_delay;
};

struct node {
    uint32_t id;
    uint16_t degree;
    uint16_t generated;
    uint32_t *neigh;    /* neighbour ids */
    uint32_t *delay;    /* link delays (ns) */
    struct stats *st;
    uint64_t last_event;
    uint64_t state;     /* arbitrary evolving module state */
};

struct msg {
    uint64_t id;
    uint64_t created;
    uint32_t src, dst;
    uint32_t hops, ttl;
    uint32_t bytes;
    uint32_t kind;
};

struct event {
    uint64_t time;
    uint64_t seq;
    struct msg *m;
    uint32_t at; /* node the message arrives at */
};

static struct event *heap;
static size_t heap_len, heap_cap;
static uint64_t seq_no;

static int before(const struct event *a, const struct event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void schedule(uint64_t time, struct msg *m, uint32_t at)
{
    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 256;
        heap = xrealloc(heap, heap_cap * sizeof *heap);
    }
    struct event e = {time, seq_no++, m, at};
    size_t i = heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&e, &heap[p])) break;
        heap[i] = heap[p];
        i = p;
    }
    heap[i] = e;
}

static struct event pop(void)
{
    struct event top = heap[0], last = heap[--heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct event *best = &last;
        if (l < heap_len && before(&heap[l], best)) m = l, best = &heap[l];
        if (r < heap_len && before(&heap[r], best)) m = r;
        if (m == i) break;
        heap[i] = heap[m];
        i = m;
    }
    if (heap_len) heap[i] = last;
    return top;
}

static prng_t rng;
static struct node **nodes;
static uint32_t nnodes;
static uint64_t msgs_created, msgs_freed;

static struct msg *new_msg(uint64_t now, uint32_t src, uint32_t kind)
{
    struct msg *m = xmalloc(sizeof *m);
    m->id = msgs_created++;
    m->created = now;
    m->src = src;
    m->dst = (uint32_t)prng_below(&rng, nnodes);
    m->hops = 0;
    m->ttl = 8 + (uint32_t)prng_below(&rng, 24);
    m->bytes = kind ? 64 : 64 + (uint32_t)prng_below(&rng, 1437);
    m->kind = kind;
    return m;
}

/* Sends m out of node n on one of its links: serialisation at 1 byte/ns after the link frees up. */
static void send(struct node *n, struct msg *m, uint64_t now)
{
    unsigned link = 0;
    if (prng_below(&rng, 4) == 0) {
        link = (unsigned)prng_below(&rng, n->degree); /* misrouting */
    } else { /* greedy: the neighbour closest to the destination around the ring */
        uint32_t best = UINT32_MAX;
        for (unsigned k = 0; k < n->degree; k++) {
            uint32_t d = n->neigh[k] > m->dst ? n->neigh[k] - m->dst : m->dst - n->neigh[k];
            if (nnodes - d < d) d = nnodes - d;
            if (d < best) best = d, link = k;
        }
    }
    struct stats *s = n->st;
    uint64_t start = s->busy_until > now ? s->busy_until : now;
    if (start - now > s->max_queue_delay) s->max_queue_delay = start - now;
    s->busy_until = start + m->bytes;
    s->tx++;
    m->hops++;
    schedule(s->busy_until + n->delay[link], m, n->neigh[link]);
}

int main(int argc, char **argv)
{
    nnodes = (uint32_t)arg_num(argc, argv, 1, 2000, 4, 1UL << 26, USAGE);
    unsigned long events = arg_num(argc, argv, 2, 5000, 1, 1UL << 50, USAGE);
    uint32_t population = nnodes / 4 < 64 ? 64 : nnodes / 4;
    printf("event-sim: %u nodes, %u messages in flight, %lu events (models 520.omnetpp_r)\n", nnodes,
           population, events);
    prng_seed(&rng, 520);

    nodes = xmalloc(nnodes * sizeof *nodes);
    for (uint32_t i = 0; i < nnodes; i++) {
        struct node *n = xmalloc(sizeof *n);
        n->id = i;
        n->degree = (uint16_t)(2 + prng_below(&rng, 5));
        n->generated = 0;
        n->neigh = xmalloc(n->degree * sizeof *n->neigh);
        n->delay = xmalloc(n->degree * sizeof *n->delay);
        for (unsigned k = 0; k < n->degree; k++) {
            /* a ring plus random chords */
            n->neigh[k] = k == 0 ? (i + 1) % nnodes : (uint32_t)prng_below(&rng, nnodes);
            n->delay[k] = 500 + (uint32_t)prng_below(&rng, 20000);
        }
        n->st = xcalloc(1, sizeof *n->st);
        n->last_event = 0;
        n->state = mix64(i);
        nodes[i] = n;
    }
    for (uint32_t k = 0; k < population; k++) {
        uint32_t at = (uint32_t)prng_below(&rng, nnodes);
        schedule(prng_below(&rng, 100000), new_msg(0, at, 0), at);
    }

    cksum_t ck;
    cksum_init(&ck);
    uint64_t now = 0, processed = 0, control = 0;
    int time_ok = 1;
    while (processed < events && heap_len) {
        struct event e = pop();
        if (e.time < now) time_ok = 0;
        now = e.time;
        processed++;
        struct node *n = nodes[e.at];
        struct msg *m = e.m;
        struct stats *s = n->st;
        s->rx++;
        s->bytes += m->bytes;
        n->last_event = now;
        n->state = n->state * 6364136223846793005UL + m->id;
        cksum_u64(&ck, now ^ (uint64_t)e.at << 40 ^ m->id << 20);

        if (m->dst == e.at || m->hops >= m->ttl) {
            if (m->dst == e.at) s->delivered++;
            else s->dropped++;
            free(m);
            msgs_freed++;
            /* replace it: a new message from a random node */
            uint32_t src = (uint32_t)prng_below(&rng, nnodes);
            struct node *g = nodes[src];
            g->generated++;
            send(g, new_msg(now, src, 0), now);
        } else {
            send(n, m, now);
        }
        /* occasional control traffic, and occasional loss, balancing each other */
        uint64_t r = prng_below(&rng, 64);
        if (r == 0) {
            send(n, new_msg(now, e.at, 1), now);
            control++;
        } else if (r == 1 && heap_len > population / 2) {
            struct event x = pop();
            nodes[x.at]->st->dropped++;
            free(x.m);
            msgs_freed++;
        }
    }

    uint64_t rx = 0, tx = 0, delivered = 0, dropped = 0, maxq = 0;
    for (uint32_t i = 0; i < nnodes; i++) {
        struct stats *s = nodes[i]->st;
        rx += s->rx;
        tx += s->tx;
        delivered += s->delivered;
        dropped += s->dropped;
        if (s->max_queue_delay > maxq) maxq = s->max_queue_delay;
        cksum_u64(&ck, s->rx ^ s->bytes << 16 ^ nodes[i]->state);
    }
    printf("simulated time=%lu ns events=%lu delivered=%lu dropped=%lu control=%lu\n", (unsigned long)now,
           (unsigned long)processed, (unsigned long)delivered, (unsigned long)dropped, (unsigned long)control);
    printf("messages created=%lu in flight=%lu max queueing delay=%lu ns\n", (unsigned long)msgs_created,
           (unsigned long)heap_len, (unsigned long)maxq);
    check("event times never decrease", time_ok);
    check("every event received by a node", rx == processed);
    check("messages created = freed + in flight", msgs_created == msgs_freed + heap_len);
    cksum_u64(&ck, tx);
    while (heap_len) free(pop().m);
    for (uint32_t i = 0; i < nnodes; i++) {
        free(nodes[i]->neigh);
        free(nodes[i]->delay);
        free(nodes[i]->st);
        free(nodes[i]);
    }
    free(nodes);
    free(heap);
    return finish(&ck);
}
