// SPDX-License-Identifier: Apache-2.0
//
// NetReaktor XDP steering program.
//
// Redirects to the AF_XDP socket of the receiving queue the TCP segments the appliance
// terminates; everything else passes to the kernel (ARP, ICMP, ssh, other TCP and UDP).
//
// Steered:
// - `services`: TCP whose destination (address, port) is a configured service (client side);
// - `origins`: TCP whose destination address is an origin-side appliance address and whose
//   destination port lies in that address's port range (replies to our origin connections).
//
// Parsed: Ethernet II with at most one 802.1Q / 802.1ad tag, IPv4 (IHL honoured, fragments
// passed), IPv6 (any extension header: passed), TCP. Every read is bounds-checked against
// data_end for the verifier.
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
    NR_PASS_FRAGMENT = 5, // IPv4 fragment
    NR_PASS_IPV6_EXT = 6, // IPv6 with an extension header
    NR_PASS_MALFORMED = 7, // truncated header or bad IPv4 IHL
    NR_COUNTER_COUNT = 8,
};

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

// TCP at `l4`: reads the destination port into key->port. Returns -1 if truncated.
static __always_inline int tcp_dest(void *l4, void *data_end, struct nr_key *key)
{
    struct tcphdr *tcp = l4;
    if ((void *)(tcp + 1) > data_end)
        return -1;
    key->port = tcp->dest;
    return 0;
}

static __always_inline int handle_ipv4(struct xdp_md *ctx, void *l3, void *data_end)
{
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    if (ip->protocol != IPPROTO_TCP)
        return count(NR_PASS_NOT_TCP, XDP_PASS);
    // MF set or a non-zero offset: a fragment.
    if (ip->frag_off & bpf_htons(0x3fff))
        return count(NR_PASS_FRAGMENT, XDP_PASS);
    __u32 header_len = ip->ihl * 4;
    if (header_len < sizeof(*ip))
        return count(NR_PASS_MALFORMED, XDP_PASS);
    struct nr_key key = {.family = NR_FAMILY_V4};
    __builtin_memcpy(key.addr, &ip->daddr, 4);
    if (tcp_dest(l3 + header_len, data_end, &key) < 0)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    return steer(ctx, &key);
}

static __always_inline int handle_ipv6(struct xdp_md *ctx, void *l3, void *data_end)
{
    struct ipv6hdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    switch (ip->nexthdr) {
    case IPPROTO_TCP:
        break;
    case IPPROTO_HOPOPTS:
    case IPPROTO_ROUTING:
    case IPPROTO_FRAGMENT:
    case IPPROTO_DSTOPTS:
    case IPPROTO_AH:
    case IPPROTO_ESP:
    case 135: // Mobility
    case 139: // HIP
    case 140: // Shim6
        return count(NR_PASS_IPV6_EXT, XDP_PASS);
    default:
        return count(NR_PASS_NOT_TCP, XDP_PASS);
    }
    struct nr_key key = {.family = NR_FAMILY_V6};
    __builtin_memcpy(key.addr, &ip->daddr, 16);
    if (tcp_dest(ip + 1, data_end, &key) < 0)
        return count(NR_PASS_MALFORMED, XDP_PASS);
    return steer(ctx, &key);
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
