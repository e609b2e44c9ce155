// The one table of lstmc diagnostics. Codes are stable: tests, docs and users
// may rely on them, so a code is never reused for a different meaning.

export type Severity = "error" | "warning";

export interface CatalogueEntry {
  readonly severity: Severity;
  readonly title: string;
}

export const catalogue = {
  // Reading the file
  E001: { severity: "error", title: "unexpected character" },
  E002: { severity: "error", title: "syntax error" },
  E003: { severity: "error", title: "invalid JSON" },
  E004: { severity: "error", title: "JSON does not match the cell schema" },
  E005: { severity: "error", title: "cannot read file" },
  // Names
  E101: { severity: "error", title: "unknown name" },
  E102: { severity: "error", title: "duplicate name" },
  E103: { severity: "error", title: "invalid identifier" },
  E104: { severity: "error", title: "reserved identifier" },
  E105: { severity: "error", title: "unknown size variable" },
  E106: { severity: "error", title: "unknown function" },
  E107: { severity: "error", title: "wrong number of arguments" },
  E108: { severity: "error", title: "unknown initializer" },
  E109: { severity: "error", title: "not a value" },
  E110: { severity: "error", title: "only states have a next value" },
  // Shapes
  E201: { severity: "error", title: "shape mismatch" },
  E202: { severity: "error", title: "matrix-vector shape mismatch" },
  E203: { severity: "error", title: "wrong rank" },
  E204: { severity: "error", title: "invalid dimension" },
  E205: { severity: "error", title: "next-state shape mismatch" },
  // Equations
  E301: { severity: "error", title: "state without a next-state equation" },
  E302: { severity: "error", title: "next value of something that is not a state" },
  E303: { severity: "error", title: "cycle among equations" },
  E304: { severity: "error", title: "equation defined twice" },
  E305: { severity: "error", title: "cell has no outputs" },
  E306: { severity: "error", title: "assignment to a declared name" },
  // Binding sizes and data (run time)
  E401: { severity: "error", title: "invalid size binding" },
  E402: { severity: "error", title: "data does not match the spec" },
  // Warnings
  W501: { severity: "warning", title: "unused parameter" },
  W502: { severity: "warning", title: "unused input" },
  W503: { severity: "warning", title: "unused intermediate" },
} as const satisfies Record<string, CatalogueEntry>;

export type DiagnosticCode = keyof typeof catalogue;
