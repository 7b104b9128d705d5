/** A small self-contained HTML page for errors the server answers itself (bad share links, private studio). */
export function errorPage(title: string, message: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · PERSE Studio</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#0f1115;color:#e8e8ea;display:grid;place-items:center;min-height:100vh;margin:0}
main{max-width:32rem;padding:2rem;border:1px solid #2a2f3a;border-radius:12px;background:#161a22}h1{font-size:1.3rem;margin:0 0 .5rem}a{color:#8fb4ff}</style>
</head><body><main><h1 data-testid="error-title">${esc(title)}</h1><p data-testid="error-message">${esc(message)}</p><p><a href="/">PERSE Studio</a></p></main></body></html>`;
}
