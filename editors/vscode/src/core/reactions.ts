/** Reactions: what a comment shows, what the quick pick offers, and what a click sends. */

import type { Reaction } from "./protocol";

/** The reactions offered to everyone, in the order they are offered. */
export const PALETTE: readonly string[] = ["👍", "👎", "😄", "🎉", "😕", "❤️", "🚀", "👀"];

export interface ReactionView {
  emoji: string;
  count: number;
  mine: boolean;
}

/**
 * Merge a comment's reactions into the palette: every palette emoji (count 0 when nobody used it, which
 * the editor offers but does not show), then any other emoji someone used, in the server's order.
 */
export function reactionViews(reactions: readonly Reaction[], palette: readonly string[] = PALETTE): ReactionView[] {
  const byEmoji = new Map<string, Reaction>();
  for (const reaction of reactions) if (!byEmoji.has(reaction.emoji)) byEmoji.set(reaction.emoji, reaction);
  const views: ReactionView[] = palette.map((emoji) => {
    const used = byEmoji.get(emoji);
    return { emoji, count: used?.count ?? 0, mine: used?.mine ?? false };
  });
  for (const reaction of byEmoji.values()) {
    if (!palette.includes(reaction.emoji)) views.push({ emoji: reaction.emoji, count: reaction.count, mine: reaction.mine });
  }
  return views;
}

/** Summarise the reactions people used, e.g. "👍 2 · 🎉 1", or "" when there are none. */
export function reactionSummary(reactions: readonly Reaction[]): string {
  return reactions
    .filter((reaction) => reaction.count > 0)
    .map((reaction) => `${reaction.emoji} ${reaction.count}`)
    .join(" · ");
}

export interface ReactionChoice {
  emoji: string;
  /** The text of the quick-pick item. */
  label: string;
  description: string;
  /** Picking it takes the caller's reaction away instead of adding it. */
  remove: boolean;
}

/** The quick-pick items for reacting to a comment: picking one you already used takes it back. */
export function reactionChoices(reactions: readonly Reaction[], palette: readonly string[] = PALETTE): ReactionChoice[] {
  return reactionViews(reactions, palette).map((view) => {
    const others = view.mine ? view.count - 1 : view.count;
    const people = others > 0 ? `${others} other${others === 1 ? "" : "s"}` : "";
    const description = view.mine ? ["yours — pick to take it back", people].filter(Boolean).join(", ") : people;
    return { emoji: view.emoji, label: view.emoji, description, remove: view.mine };
  });
}
