/**
 * The part of a node's knowledge that judging some candidates needs: whether their addresses are
 * the node's own, where they live, the ways out from source to destination and back, and the own MAC of
 * their arrival interfaces. A live agent sends each candidate with its excerpt; the judge asks
 * nothing else, so the excerpt judges exactly as the whole.
 */
import type { NodeKnowledgeFacts, VanishCandidate } from './node-findings.js';

export function knowledgeExcerpt(facts: NodeKnowledgeFacts, candidates: readonly VanishCandidate[]): NodeKnowledgeFacts {
  const addresses = new Set<string>();
  const pairs = new Set<string>();
  const ifaces = new Set<string>();
  for (const c of candidates) {
    addresses.add(c.identity.src).add(c.identity.dst);
    pairs.add(`${c.identity.dst} ${c.identity.src}`).add(`${c.identity.src} ${c.identity.dst}`);
    ifaces.add(c.iface);
  }
  return {
    ownAddresses: facts.ownAddresses.filter((a) => addresses.has(a)),
    locations: facts.locations.filter((l) => addresses.has(l.address)),
    exits: facts.exits.filter((e) => pairs.has(`${e.src} ${e.dst}`)),
    ownMacs: facts.ownMacs.filter((m) => ifaces.has(m.iface)),
  };
}
