// Perfume cards under an answer: brand, name, year, accords, note pyramid, why it fits, longevity and
// sillage, price / size / stock, and a "sample data" mark when the shop data is made up.
// Props (channels/web/render.py::perfume_props): { cards: [...], labels: {...} }. Inline styles on
// Chainlit's theme variables, so the cards follow its light and dark themes.

const box = {
  border: "1px solid hsl(var(--border))",
  borderRadius: "14px",
  padding: "14px 16px",
  background: "hsl(var(--card))",
  display: "flex",
  flexDirection: "column",
  gap: "8px",
  minWidth: 0,
};
const muted = { color: "hsl(var(--muted-foreground))" };
const chip = {
  fontSize: "12px",
  padding: "2px 8px",
  borderRadius: "999px",
  background: "hsl(var(--accent))",
  color: "hsl(var(--accent-foreground))",
  whiteSpace: "nowrap",
};

function Pyramid({ rows }) {
  return (
    <div style={{ display: "grid", gridTemplateColumns: "auto 1fr", columnGap: "10px", rowGap: "3px", fontSize: "13px" }}>
      {rows.map((row) => [
        <span key={row.label + "-l"} style={{ ...muted, fontWeight: 600 }}>{row.label}</span>,
        <span key={row.label + "-n"}>{row.notes.join(" · ")}</span>,
      ])}
    </div>
  );
}

function Card({ card, labels }) {
  const shop = [card.price, card.size].filter(Boolean).join(" · ");
  return (
    <div style={box} data-testid="perfume-card">
      <div style={{ display: "flex", justifyContent: "space-between", gap: "8px", alignItems: "baseline" }}>
        <span style={{ ...muted, fontSize: "12px", letterSpacing: "0.06em", textTransform: "uppercase" }}>
          {card.brand}{card.year ? ` · ${card.year}` : ""}
        </span>
        {card.sample ? (
          <span title={labels.sample_hint} style={{ ...chip, background: "hsl(var(--muted))", color: "hsl(var(--muted-foreground))" }}>
            {labels.sample}
          </span>
        ) : null}
      </div>
      <div style={{ fontSize: "17px", fontWeight: 700, lineHeight: 1.25 }}>{card.name}</div>
      {card.accords.length ? (
        <div style={{ display: "flex", flexWrap: "wrap", gap: "4px" }}>
          {card.accords.map((a) => <span key={a} style={chip}>{a}</span>)}
        </div>
      ) : null}
      {card.pyramid.length ? <Pyramid rows={card.pyramid} /> : null}
      {card.why ? <div style={{ fontSize: "13px", color: "hsl(var(--primary))" }}>✓ {card.why}</div> : null}
      {card.longevity || card.sillage ? (
        <div style={{ ...muted, fontSize: "12px" }}>
          {[card.longevity && `${labels.longevity} ${card.longevity}`, card.sillage && `${labels.sillage} ${card.sillage}`]
            .filter(Boolean)
            .join(" · ")}
        </div>
      ) : null}
      {shop || card.stock ? (
        <div style={{ marginTop: "auto", paddingTop: "6px", borderTop: "1px dashed hsl(var(--border))", display: "flex",
                      justifyContent: "space-between", gap: "8px", fontSize: "13px" }}>
          <span style={{ fontWeight: 600 }}>{shop}</span>
          {card.stock ? (
            <span style={{ color: card.inStock ? "hsl(142 60% 32%)" : "hsl(0 65% 45%)" }}>{card.stock}</span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

export default function PerfumeCards() {
  const cards = props.cards || [];
  return (
    <div
      style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(230px, 1fr))", gap: "10px", width: "100%", margin: "4px 0" }}
    >
      {cards.map((card) => <Card key={card.id} card={card} labels={props.labels || {}} />)}
    </div>
  );
}
