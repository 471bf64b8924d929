// SPDX-License-Identifier: Apache-2.0
//
// NetReaktor XDP steering program.
//
// Redirects to the AF_XDP socket of the receiving queue the TCP segments the appliance
// terminates; drops what belongs to a service address but cannot be steered, so the host
// kernel never answers (never resets) for NetReaktor's connections; everything else passes to
// the kernel (ARP, ICMP, ssh, other TCP and UDP).
//
// Steered:
// - `services`: TCP whose destination (address, port) is a configured service (client side);
// - `origins`: TCP whose destination address is an origin-side appliance address and whose
//   destination port lies in that address's port range (replies to our origin connections).
//
// Dropped and counted (docs/architecture.md, "The host kernel never answers for us"):
// - `drop_fragment`: a TCP fragment (IPv4 RFC 791 §3.2, IPv6 RFC 8200 §4.5) whose destination
//   is a service address (`guarded`), or a first fragment whose ports are steered. The
//   pipeline does not reassemble; the peer retransmits. A non-first fragment to an origin-side
//   address carries no port and passes: without its first fragment the kernel never completes
//   the datagram, and sends no time-exceeded for it (RFC 792, RFC 8200 §4.5).
// - `drop_unsteerable`: TCP to a service address whose TCP header the program cannot reach: an
//   IPv6 header chain longer than NR_IPV6_EXT_MAX or with a header it does not walk (AH, ESP,
//   Mobility, ...), a Routing header with Segments Left (RFC 8200 §4.4: we are not the final
//   destination), a truncated header.
//
// Parsed: Ethernet II with at most one 802.1Q / 802.1ad tag, IPv4 (IHL honoured), IPv6 with up
// to NR_IPV6_EXT_MAX Hop-by-Hop, Routing, Destination Options and Fragment headers (RFC 8200
// §4.3-§4.6), TCP. Every read is bounds-checked against data_end for the verifier.
//
// Rebuild with tests/scripts/build-xdp.sh; the loader is src/xdp/mod.rs. The map layouts below
// are mirrored in src/xdp/maps.rs: change both together.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define NR_FAMILY_V4 4
#define NR_FAMILY_V6 6

// Key of `services` and `origins`: 20 bytes, no implicit padding.
// An IPv4 address fills addr[0..4], the rest is zero. `origins` keys have port 0.
struct nr_key {
    __u8 family;   // NR_FAMILY_V4 or NR_FAMILY_V6
    __u8 pad;      // zero
    __be16 port;   // network byte order
    __u8 addr[16]; // network byte order
};

// Value of `origins`: inclusive destination port range, host byte order.
struct nr_port_range {
    __u16 first;
    __u16 last;
};

// Indexes of `counters` (per-CPU u64). Mirrored by `Counter` in src/xdp/maps.rs.
enum nr_counter {
    NR_REDIRECTED = 0,    // matched, an XSK was bound to the queue: bpf_redirect_map called
    NR_STEER_NO_XSK = 1,  // matched, no XSK bound to the queue: passed
    NR_PASS_NOT_IP = 2,   // not IPv4/IPv6 (ARP, LLDP, ...) or more than one VLAN tag
    NR_PASS_NOT_TCP = 3,  // IP but not TCP (ICMP, UDP, ...)
    NR_PASS_NO_MATCH = 4, // TCP to an address or port we do not steer
    NR_PASS_FRAGMENT = 5, // fragment, not of steered TCP
    NR_PASS_IPV6_EXT = 6, // IPv6 header chain the program does not walk, not to a service address
    NR_PASS_MALFORMED = 7, // truncated header or bad IPv4 IHL, not to a service address
    NR_DROP_FRAGMENT = 8, // fragment of TCP to a service address or of steered TCP: dropped
    NR_DROP_UNSTEERABLE = 9, // TCP to a service address that cannot be steered: dropped
    NR_COUNTER_COUNT = 10,
};

// Most IPv6 extension headers walked before the TCP header (RFC 8200 §4.1 orders at most four
// of the kinds walked here before a TCP header: Hop-by-Hop, Destination Options, Routing,
// Fragment).
#define NR_IPV6_EXT_MAX 4

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct nr_key);
    __type(value, __u8);
} services SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, struct nr_key);
    __type(value, struct nr_port_range);
} origins SEC(".maps");

// The service addresses (keys with port 0): TCP to them that cannot be steered is dropped.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct nr_key);
    __type(value, __u8);
} guarded SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, NR_COUNTER_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 index, int verdict)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &index);
    if (value)
        *value += 1;
    return verdict;
}

// True when TCP to (key.addr, key.port) is ours. key.port is the destination port.
static __always_inline int steered(struct nr_key *key)
{
    if (bpf_map_lookup_elem(&services, key))
        return 1;
    __be16 port = key->port;
    key->port = 0;
    struct nr_port_range *range = bpf_map_lookup_elem(&origins, key);
    if (!range)
        return 0;
    __u16 host_port = bpf_ntohs(port);
    return host_port >= range->first && host_port <= range->last;
}

static __always_inline int steer(struct xdp_md *ctx, struct nr_key *key)
{
    if (!steered(key))
        return count(NR_PASS_NO_MATCH, XDP_PASS);
    __u32 queue = ctx->rx_queue_index;
    if (!bpf_map_lookup_elem(&xsks, &queue))
        return count(NR_STEER_NO_XSK, XDP_PASS);
    count(NR_REDIRECTED, XDP_PASS);
    return bpf_redirect_map(&xsks, queue, XDP_PASS);
}

// True when key's address (whatever key.port) is a service address.
static __always_inline int is_guarded(struct nr_key *key)
{
    __be16 port = key->port;
    key->port = 0;
    int hit = bpf_map_lookup_elem(&guarded, key) != 0;
    key->port = port;
    return hit;
}

// A frame to key's address that cannot be steered: dropped if the address is a service
// address, else passed and counted as `pass_counter`.
static __always_inline int unsteerable(struct nr_key *key, __u32 pass_counter)
{
    if (is_guarded(key))
        return count(NR_DROP_UNSTEERABLE, XDP_DROP);
    return count(pass_counter, XDP_PASS);
}

// TCP at `l4`: reads the destination port into key->port. Returns -1 if truncated.
static __always_inline int tcp_dest(void *l4, void *data_end, struct nr_key *key)
{
    struct tcphdr *tcp = l4;
    if ((void *)(tcp + 1) > data_end)
        return -1;
    key->port = tcp->dest;
    return 0;
}

// Where the TCP header (or, for a fragment, the fragment data) starts and what kind of
// datagram carries it.
struct nr_tcp_at {
    void *l4;
    int fragment; // part of a fragmented datagram
    int first;    // not a fragment, or the first one (offset 0): l4 is the TCP header
};

// A TCP segment or fragment to key's address: steer, drop or pass it.
static __always_inline int tcp_verdict(struct xdp_md *ctx, struct nr_key *key,
                                       struct nr_tcp_at at, void *data_end)
{
    int have_port = at.first && tcp_dest(at.l4, data_end, key) == 0;
    if (at.fragment) {
        if (is_guarded(key) || (have_port && steered(key)))
            return count(NR_DROP_FRAGMENT, XDP_DROP);
        return count(NR_PASS_FRAGMENT, XDP_PASS);
    }
    if (!have_port)
        return unsteerable(key, NR_PASS_MALFORMED);
    return steer(ctx, key);
}

static __always_inline int handle_ipv4(struct xdp_md *ctx, void *l3, void *data_end)
{
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    if (ip->protocol != IPPROTO_TCP)
        return count(NR_PASS_NOT_TCP, XDP_PASS);
    __u32 header_len = ip->ihl * 4;
    if (header_len < sizeof(*ip))
        return count(NR_PASS_MALFORMED, XDP_PASS);
    struct nr_key key = {.family = NR_FAMILY_V4};
    __builtin_memcpy(key.addr, &ip->daddr, 4);
    // RFC 791 §3.1: MF set or a non-zero offset is a fragment; offset 0 is the first.
    struct nr_tcp_at at = {
        .l4 = l3 + header_len,
        .fragment = (ip->frag_off & bpf_htons(0x3fff)) != 0,
        .first = (ip->frag_off & bpf_htons(0x1fff)) == 0,
    };
    return tcp_verdict(ctx, &key, at, data_end);
}

// True for the extension headers the walk follows (RFC 8200 §4.3-§4.6).
static __always_inline int walked(__u8 next)
{
    return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
           next == IPPROTO_FRAGMENT;
}

// True for the other extension headers (RFC 8200 §4; IANA "IPv6 Extension Header Types").
static __always_inline int other_extension(__u8 next)
{
    return next == IPPROTO_AH || next == IPPROTO_ESP || next == 135 /* Mobility */ ||
           next == 139 /* HIP */ || next == 140 /* Shim6 */ || walked(next);
}

static __always_inline int handle_ipv6(struct xdp_md *ctx, void *l3, void *data_end)
{
    struct ipv6hdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    struct nr_key key = {.family = NR_FAMILY_V6};
    __builtin_memcpy(key.addr, &ip->daddr, 16);
    struct nr_tcp_at at = {.l4 = ip + 1, .fragment = 0, .first = 1};
    __u8 next = ip->nexthdr;
#pragma unroll
    for (int i = 0; i < NR_IPV6_EXT_MAX; i++) {
        if (!walked(next) || !at.first)
            break;
        __u8 *ext = at.l4;
        // Every header walked is at least 8 bytes: Next Header, Hdr Ext Len, 6 more.
        if ((void *)(ext + 8) > data_end)
            return unsteerable(&key, NR_PASS_MALFORMED);
        __u32 len = ((__u32)ext[1] + 1) * 8;
        if (next == IPPROTO_HOPOPTS && i != 0) // RFC 8200 §4.3: only right after the header
            return unsteerable(&key, NR_PASS_MALFORMED);
        if (next == IPPROTO_ROUTING && ext[3] != 0) // Segments Left (RFC 8200 §4.4)
            return unsteerable(&key, NR_PASS_IPV6_EXT);
        if (next == IPPROTO_FRAGMENT) {
            if (at.fragment) // RFC 8200 §4.5: one Fragment header
                return unsteerable(&key, NR_PASS_MALFORMED);
            // RFC 8200 §4.5: the offset is the top 13 bits of bytes 2-3; its length is 8.
            at.fragment = 1;
            at.first = (((ext[2] << 8) | ext[3]) & 0xfff8) == 0;
            len = 8;
        }
        next = ext[0];
        at.l4 = ext + len;
    }
    // RFC 8200 §4.5: a non-first fragment's Next Header names the fragmented payload.
    if (at.first && other_extension(next))
        return unsteerable(&key, NR_PASS_IPV6_EXT);
    if (next != IPPROTO_TCP)
        return count(NR_PASS_NOT_TCP, XDP_PASS);
    return tcp_verdict(ctx, &key, at, data_end);
}

struct nr_vlan {
    __be16 tci;
    __be16 proto;
};

SEC("xdp")
int nr_steer(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    void *l3 = eth + 1;
    __be16 proto = eth->h_proto;
    if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
        struct nr_vlan *vlan = l3;
        if ((void *)(vlan + 1) > data_end)
            return count(NR_PASS_MALFORMED, XDP_PASS);
        proto = vlan->proto;
        l3 = vlan + 1;
    }
    if (proto == bpf_htons(ETH_P_IP))
        return handle_ipv4(ctx, l3, data_end);
    if (proto == bpf_htons(ETH_P_IPV6))
        return handle_ipv6(ctx, l3, data_end);
    return count(NR_PASS_NOT_IP, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
