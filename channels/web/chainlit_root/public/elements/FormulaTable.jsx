// A composed or checked formula: its verdict against the IFRA Standards, its lines, what does not
// comply, the allergens to declare on the label and the corrected formula when there is one.
// Props (channels/web/render.py::formula_props).

const cell = { padding: "4px 8px", borderBottom: "1px solid hsl(var(--border))", textAlign: "left", fontSize: "13px" };
const num = { ...cell, textAlign: "right", fontVariantNumeric: "tabular-nums", whiteSpace: "nowrap" };
const muted = { color: "hsl(var(--muted-foreground))" };

function Lines({ lines, labels }) {
  return (
    <table style={{ borderCollapse: "collapse", width: "100%" }}>
      <thead>
        <tr>
          <th style={{ ...cell, ...muted }}>{labels.material}</th>
          <th style={{ ...num, ...muted }}>{labels.pct}</th>
          <th style={{ ...cell, ...muted }}>{labels.layer}</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((line, i) => (
          <tr key={i}>
            <td style={cell}>{line.name}</td>
            <td style={num}>{line.pct.toFixed(2)}</td>
            <td style={{ ...cell, ...muted }}>{line.layer || ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section({ title, children }) {
  return (
    <div style={{ display: "flex", flexDirection: "column", gap: "4px" }}>
      <div style={{ fontWeight: 600, fontSize: "13px" }}>{title}</div>
      {children}
    </div>
  );
}

export default function FormulaTable() {
  const p = props;
  const ok = p.compliant;
  return (
    <div data-testid="formula-table" style={{ border: "1px solid hsl(var(--border))", borderRadius: "14px", padding: "14px 16px",
                  background: "hsl(var(--card))", display: "flex", flexDirection: "column", gap: "12px", margin: "4px 0" }}>
      <div style={{ display: "flex", justifyContent: "space-between", alignItems: "baseline", gap: "8px", flexWrap: "wrap" }}>
        <div>
          <div style={{ ...muted, fontSize: "12px", textTransform: "uppercase", letterSpacing: "0.06em" }}>
            {p.kind}{p.concentration ? ` · ${p.concentration}` : ""}
          </div>
          {p.name ? <div style={{ fontSize: "17px", fontWeight: 700 }}>{p.name}</div> : null}
        </div>
        <span data-testid="formula-verdict" style={{ fontSize: "12px", fontWeight: 600, padding: "3px 10px", borderRadius: "999px",
                       background: ok ? "hsl(142 55% 92%)" : "hsl(0 80% 94%)", color: ok ? "hsl(142 60% 26%)" : "hsl(0 65% 40%)" }}>
          {ok ? "✓ " : "✕ "}{p.verdict}
        </span>
      </div>
      {p.description ? <div style={{ fontSize: "13px" }}>{p.description}</div> : null}
      <Lines lines={p.lines} labels={p.labels} />
      {p.violations && p.violations.length ? (
        <Section title={p.labels.violations}>
          <ul style={{ margin: 0, paddingLeft: "18px", fontSize: "13px", color: "hsl(0 65% 40%)" }}>
            {p.violations.map((v, i) => <li key={i}>{v}</li>)}
          </ul>
        </Section>
      ) : null}
      <Section title={`${p.labels.allergens} (${p.labels.in_product})`}>
        {p.allergens.length ? (
          <div style={{ display: "flex", flexWrap: "wrap", gap: "4px 12px", fontSize: "13px" }}>
            {p.allergens.map((a, i) => (
              <span key={i}>
                {a.name}
                {a.pct !== null && a.pct !== undefined ? <span style={muted}> {a.pct}%</span> : null}
              </span>
            ))}
          </div>
        ) : (
          <div style={{ ...muted, fontSize: "13px" }}>{p.labels.no_allergens}</div>
        )}
      </Section>
      {p.corrected ? (
        <Section title={p.labels.corrected}>
          <Lines lines={p.corrected} labels={p.labels} />
        </Section>
      ) : null}
    </div>
  );
}
