// box's own nftables table (`ip box`), spoken over nfnetlink: base chains for NAT, and rules
// tagged with a comment naming their owner ("box network box0", "box container ID"), so each
// owner's rules are found and removed without keeping handles anywhere. No other table is
// ever read or written.
import { attr, attrBe32, attrBe64, attrNest, attrStr, attrString, message, parseAttrs, withNetlink, NETLINK_NETFILTER, NetlinkError, NLM_F_CREATE, NLM_F_DUMP, type Message, type NetlinkSocket } from "../sys/netlink.ts";
import { Errno } from "../sys/errors.ts";
import { ipv4Bytes, maskBytes } from "./ipv4.ts";

const TABLE = "box";

const NFPROTO_IPV4 = 2;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_DELTABLE = 2;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_DELRULE = 8;
const NLM_F_APPEND = 0x800;

const NFTA_TABLE_NAME = 1;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_HANDLE = 3;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_RULE_USERDATA = 7;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NF_ACCEPT = 1;
/** nft's own userdata layout, so `nft list ruleset` shows the tag as the rule's comment. */
const NFTNL_UDATA_RULE_COMMENT = 0;

const NF_INET_PRE_ROUTING = 0;
const NF_INET_FORWARD = 2;
const NF_INET_LOCAL_OUT = 3;
const NF_INET_POST_ROUTING = 4;
const NF_IP_PRI_MANGLE = -150;
const NF_IP_PRI_NAT_DST = -100;
const NF_IP_PRI_FILTER = 0;
const NF_IP_PRI_NAT_SRC = 100;

/**
 * The base chains: published ports are translated in prerouting (from outside) and output (from
 * the host itself); masquerading in postrouting; `guard` (before any NAT) drops what a container
 * sends to 127.0.0.0/8, which route_localnet would otherwise let through to the host's
 * loopback-only services (CVE-2020-8558); `forward` lets into a bridge only what belongs to a
 * connection from inside, a published port, or the bridge itself.
 */
const CHAINS = {
  guard: { hook: NF_INET_PRE_ROUTING, priority: NF_IP_PRI_MANGLE, type: "filter" },
  prerouting: { hook: NF_INET_PRE_ROUTING, priority: NF_IP_PRI_NAT_DST, type: "nat" },
  output: { hook: NF_INET_LOCAL_OUT, priority: NF_IP_PRI_NAT_DST, type: "nat" },
  forward: { hook: NF_INET_FORWARD, priority: NF_IP_PRI_FILTER, type: "filter" },
  postrouting: { hook: NF_INET_POST_ROUTING, priority: NF_IP_PRI_NAT_SRC, type: "nat" },
} as const;
type Chain = keyof typeof CHAINS;

// ---- expressions (registers: 1 and 2, the 16-byte ones) ----

const REG1 = 1;
const REG2 = 2;
const expr = (name: string, ...data: Buffer[]) => attrNest(NFTA_LIST_ELEM, attrStr(NFTA_EXPR_NAME, name), ...(data.length ? [attrNest(NFTA_EXPR_DATA, ...data)] : []));
const value = (type: number, bytes: Uint8Array) => attrNest(type, attr(NFTA_DATA_VALUE, bytes));

const PAYLOAD_NETWORK = 1;
const PAYLOAD_TRANSPORT = 2;
const CMP_EQ = 0;
const CMP_NEQ = 1;
const META_IIFNAME = 6;
const META_OIFNAME = 7;
const CT_STATE = 0;
const CT_STATUS = 2;
/** ct state bits (host order): established, related. */
const CT_ESTABLISHED_RELATED = 0x2 | 0x4;
/** ct status bit IPS_DST_NAT: the connection was DNAT'd (a published port). */
const IPS_DST_NAT = 0x20;
const NF_DROP = 0;
const NFT_REG_VERDICT = 0;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const META_L4PROTO = 16;
const FIB_RESULT_ADDRTYPE = 3;
const FIB_F_DADDR = 2;
const RTN_LOCAL = 2;
const NAT_DNAT = 1;

function load(base: number, offset: number, len: number): Buffer {
  return expr("payload", attrBe32(1, REG1), attrBe32(2, base), attrBe32(3, offset), attrBe32(4, len));
}
function cmp(op: number, data: Uint8Array): Buffer {
  return expr("cmp", attrBe32(1, REG1), attrBe32(2, op), value(3, data));
}
function meta(key: number): Buffer {
  return expr("meta", attrBe32(1, REG1), attrBe32(2, key));
}
function masked(mask: Buffer): Buffer {
  return expr("bitwise", attrBe32(1, REG1), attrBe32(2, REG1), attrBe32(3, mask.length), value(4, mask), value(5, Buffer.alloc(mask.length)));
}
function immediate(reg: number, data: Uint8Array): Buffer {
  return expr("immediate", attrBe32(1, reg), value(2, data));
}
function be16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function ifname(name: string): Buffer {
  const b = Buffer.alloc(16);
  b.write(name);
  return b;
}

function verdict(code: number): Buffer {
  return expr("immediate", attrBe32(1, NFT_REG_VERDICT), attrNest(2, attrNest(NFTA_DATA_VERDICT, attrBe32(NFTA_VERDICT_CODE, code))));
}
function hostOrder32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
/** `ct KEY & MASK != 0` */
function ctHas(key: number, mask: number): Buffer[] {
  return [expr("ct", attrBe32(1, REG1), attrBe32(2, key)), masked(hostOrder32(mask)), cmp(CMP_NEQ, Buffer.alloc(4))];
}
const interfaceIs = (key: number, name: string, op = CMP_EQ) => [meta(key), cmp(op, ifname(name))];

/** `ip saddr NET/PREFIX` */
function sourceIn(net: string, prefix: number): Buffer[] {
  return [load(PAYLOAD_NETWORK, 12, 4), masked(maskBytes(prefix)), cmp(CMP_EQ, ipv4Bytes(net))];
}

// ---- rules ----

export interface Rule {
  chain: Chain;
  expressions: Buffer[];
  /** Who owns it: the rule's comment. */
  tag: string;
}

/**
 * A network's own rules: masquerading for its subnet (unless it stays on the bridge) and for
 * 127.0.0.1 reaching a published port; the guard against its containers' packets to
 * 127.0.0.0/8; and what may be forwarded into its bridge.
 */
export function networkRules(bridge: string, subnet: string, prefix: number, tag: string): Rule[] {
  const into = interfaceIs(META_OIFNAME, bridge);
  return [
    { chain: "guard", tag, expressions: [...interfaceIs(META_IIFNAME, bridge), load(PAYLOAD_NETWORK, 16, 4), masked(maskBytes(8)), cmp(CMP_EQ, ipv4Bytes("127.0.0.0")), verdict(NF_DROP)] },
    { chain: "forward", tag, expressions: [...into, ...ctHas(CT_STATE, CT_ESTABLISHED_RELATED), verdict(NF_ACCEPT)] },
    { chain: "forward", tag, expressions: [...into, ...ctHas(CT_STATUS, IPS_DST_NAT), verdict(NF_ACCEPT)] },
    { chain: "forward", tag, expressions: [...into, ...interfaceIs(META_IIFNAME, bridge), verdict(NF_ACCEPT)] },
    { chain: "forward", tag, expressions: [...into, verdict(NF_DROP)] },
    { chain: "postrouting", tag, expressions: [...sourceIn(subnet, prefix), meta(META_OIFNAME), cmp(CMP_NEQ, ifname(bridge)), expr("masq")] },
    // Published ports reached at 127.0.0.1: the answer must come back to the bridge's address.
    { chain: "postrouting", tag, expressions: [...sourceIn("127.0.0.0", 8), meta(META_OIFNAME), cmp(CMP_EQ, ifname(bridge)), expr("masq")] },
  ];
}

export interface PortRule {
  protocol: "tcp" | "udp";
  hostIp?: string;
  hostPort: number;
  ip: string;
  port: number;
}

/** A published port: traffic to one of the host's own addresses (or the given one) goes to the container. */
export function publishRules(p: PortRule, tag: string): Rule[] {
  const expressions = [
    expr("fib", attrBe32(1, REG1), attrBe32(2, FIB_RESULT_ADDRTYPE), attrBe32(3, FIB_F_DADDR)),
    cmp(CMP_EQ, hostOrder32(RTN_LOCAL)),
    ...(p.hostIp ? [load(PAYLOAD_NETWORK, 16, 4), cmp(CMP_EQ, ipv4Bytes(p.hostIp))] : []),
    meta(META_L4PROTO),
    cmp(CMP_EQ, Buffer.from([p.protocol === "tcp" ? 6 : 17])),
    load(PAYLOAD_TRANSPORT, 2, 2),
    cmp(CMP_EQ, be16(p.hostPort)),
    immediate(REG1, ipv4Bytes(p.ip)),
    immediate(REG2, be16(p.port)),
    expr("nat", attrBe32(1, NAT_DNAT), attrBe32(2, NFPROTO_IPV4), attrBe32(3, REG1), attrBe32(5, REG2)),
  ];
  return [
    { chain: "prerouting", tag, expressions },
    { chain: "output", tag, expressions },
  ];
}

// ---- messages ----

function nfgen(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  b.writeUInt16BE(resId, 2);
  return b;
}
const nft = (type: number, flags: number, ...attrs: Buffer[]): Message => message((NFNL_SUBSYS_NFTABLES << 8) | type, flags, nfgen(NFPROTO_IPV4), ...attrs);

const NFNL_BATCH_GENID = 1;
const NFT_MSG_GETGEN = 16;
const NFTA_GEN_ID = 1;
/** The kernel's answer to a batch made for a ruleset generation that is gone. */
const ERESTART = 85;

/** A transaction: all or nothing; with `genid`, only if nobody changed the ruleset since. */
function batch(nl: NetlinkSocket, messages: Message[], describe: (i: number) => [string, string?], genid?: number): void {
  const begin = message(NFNL_MSG_BATCH_BEGIN, 0, nfgen(0, NFNL_SUBSYS_NFTABLES), ...(genid === undefined ? [] : [attrBe32(NFNL_BATCH_GENID, genid)]));
  const end = message(NFNL_MSG_BATCH_END, 0, nfgen(0, NFNL_SUBSYS_NFTABLES));
  // The kernel acknowledges the messages between begin and end, not these two.
  nl.request([{ ...begin, noAck: true }, ...messages, { ...end, noAck: true }], (i) => (i === 0 ? ["nftables transaction", TABLE] : describe(i - 1)));
}

function generation(nl: NetlinkSocket): number {
  const [reply] = nl.query(nft(NFT_MSG_GETGEN, 0), "read nftables generation");
  return parseAttrs(reply!.payload, 4).get(NFTA_GEN_ID)!.readUInt32BE(0);
}

function comment(tag: string): Buffer {
  const text = Buffer.from(`${tag}\0`);
  return Buffer.concat([Buffer.from([NFTNL_UDATA_RULE_COMMENT, text.length]), text]);
}

/** The table, its chains, and the rules, in one transaction (the table and chains may exist). */
export function addRules(rules: Rule[]): void {
  withNetlink(NETLINK_NETFILTER, (nl) => {
    const setup = [
      nft(NFT_MSG_NEWTABLE, NLM_F_CREATE, attrStr(NFTA_TABLE_NAME, TABLE)),
      ...Object.entries(CHAINS).map(([name, c]) =>
        nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, attrStr(NFTA_CHAIN_TABLE, TABLE), attrStr(NFTA_CHAIN_NAME, name), attrNest(NFTA_CHAIN_HOOK, attrBe32(NFTA_HOOK_HOOKNUM, c.hook), attrBe32(NFTA_HOOK_PRIORITY, c.priority)), attrBe32(NFTA_CHAIN_POLICY, NF_ACCEPT), attrStr(NFTA_CHAIN_TYPE, c.type)),
      ),
    ];
    const adds = rules.map((r) => nft(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, attrStr(NFTA_RULE_TABLE, TABLE), attrStr(NFTA_RULE_CHAIN, r.chain), attrNest(NFTA_RULE_EXPRESSIONS, ...r.expressions), attr(NFTA_RULE_USERDATA, comment(r.tag))));
    batch(nl, [...setup, ...adds.slice(0, BATCH_RULES)], (i) => (i < setup.length ? ["create nftables table", TABLE] : ["add nftables rule", rules[i - setup.length]!.tag]));
    // More (a range of published ports) in more transactions: whoever adds them deletes them by tag on a failure.
    for (let from = BATCH_RULES; from < adds.length; from += BATCH_RULES) batch(nl, adds.slice(from, from + BATCH_RULES), (i) => ["add nftables rule", rules[from + i]!.tag]);
  });
}

/** Rules per transaction: one write larger than the socket's send buffer (~208 KiB) is refused (EMSGSIZE). */
const BATCH_RULES = 100;

interface ListedRule {
  chain: string;
  handle: bigint;
  tag?: string;
}

function listRules(nl: NetlinkSocket): ListedRule[] {
  let replies;
  try {
    replies = nl.query(nft(NFT_MSG_GETRULE, NLM_F_DUMP, attrStr(NFTA_RULE_TABLE, TABLE)), "list nftables rules of table", TABLE);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENOENT) return [];
    throw e;
  }
  return replies.flatMap((r) => {
    const a = parseAttrs(r.payload, 4);
    if (attrString(a.get(NFTA_RULE_TABLE)) !== TABLE) return [];
    const ud = a.get(NFTA_RULE_USERDATA);
    const tag = ud && ud[0] === NFTNL_UDATA_RULE_COMMENT ? attrString(ud.subarray(2, 2 + ud[1]!)) : undefined;
    return [{ chain: attrString(a.get(NFTA_RULE_CHAIN))!, handle: a.get(NFTA_RULE_HANDLE)!.readBigUInt64BE(0), tag }];
  });
}

/**
 * Removes the rules whose tag is `tag` or starts with it and a space; with `dropTableIfEmpty`,
 * the table too when no rule is left. Read and delete are one transaction of the generation
 * read: another box adding or removing rules meanwhile makes the kernel refuse it, and it is
 * done again.
 */
export function deleteRules(tag: string, dropTableIfEmpty = false): void {
  deleteRulesWhere((t) => t === tag || t.startsWith(`${tag} `), tag, dropTableIfEmpty);
}

/** The same for every rule whose tag passes `test`; `what` names them in an error. */
export function deleteRulesWhere(test: (tag: string) => boolean, what: string, dropTableIfEmpty = false): void {
  withNetlink(NETLINK_NETFILTER, (nl) => {
    for (let attempt = 0; ; ) {
      const genid = generation(nl);
      const rules = listRules(nl);
      const matching = rules.filter((r) => r.tag !== undefined && test(r.tag));
      // At most BATCH_RULES at a time; the rest at the next turn, read again.
      const doomed = matching.slice(0, BATCH_RULES);
      const messages = doomed.map((r) => nft(NFT_MSG_DELRULE, 0, attrStr(NFTA_RULE_TABLE, TABLE), attrStr(NFTA_RULE_CHAIN, r.chain), attrBe64(NFTA_RULE_HANDLE, r.handle)));
      if (dropTableIfEmpty && rules.length === doomed.length && tableExists(nl)) messages.push(nft(NFT_MSG_DELTABLE, 0, attrStr(NFTA_TABLE_NAME, TABLE)));
      if (!messages.length) return;
      try {
        batch(nl, messages, (i) => (i < doomed.length ? ["delete nftables rule", what] : ["delete nftables table", TABLE]), genid);
        if (doomed.length === matching.length) return;
      } catch (e) {
        const raced = e instanceof NetlinkError && (e.errno === ERESTART || e.errno === Errno.ENOENT);
        if (!raced || ++attempt > 10) throw e;
      }
    }
  });
}

/** Every rule in the table: its owner's tag and its handle (later rules have larger ones). */
export function tableRules(): Array<{ tag: string; handle: bigint }> {
  return withNetlink(NETLINK_NETFILTER, (nl) => listRules(nl).map((r) => ({ tag: r.tag ?? "", handle: r.handle })));
}

const NFT_MSG_GETTABLE = 1;
function tableExists(nl: NetlinkSocket): boolean {
  try {
    nl.query(nft(NFT_MSG_GETTABLE, 0, attrStr(NFTA_TABLE_NAME, TABLE)), "find nftables table", TABLE);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENOENT) return false;
    throw e;
  }
}
