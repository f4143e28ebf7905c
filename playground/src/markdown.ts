/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The little markdown the services write in hovers (code fences, `code`, **bold**, paragraphs),
 * as HTML. Everything is escaped first, so spec text can never become markup.
 */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const blocks = md.split(/```[a-z]*\n?/);
  blocks.forEach((block, i) => {
    if (i % 2 === 1) {
      out.push(`<pre>${escapeHtml(block.replace(/\n$/, ""))}</pre>`);
      return;
    }
    for (const para of block.split(/\n\s*\n/)) {
      if (!para.trim()) continue;
      const html = escapeHtml(para)
        .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>")
        .replace(/`([^`]+)`/g, "<code>$1</code>")
        .replace(/\n/g, "<br>");
      out.push(`<p>${html}</p>`);
    }
  });
  return out.join("");
}
