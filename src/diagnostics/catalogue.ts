// The one table of lstmc diagnostics, as TypeScript's diagnosticMessages.json
// is: every message lstmc can report, as a template with numbered holes
// ({0}, {1}, …) and the stable code it is reported under. Call sites name a
// message and pass its arguments (names, shapes, numbers), never prose.
//
// Codes are public: tests, docs and users rely on them, so a code is never
// reused for a different meaning. Several messages may share a code when they
// are wordings of the same fault (E204 covers every invalid dimension).

export type Severity = "error" | "warning";

export interface CodeEntry {
  readonly severity: Severity;
  readonly title: string;
}

export const codes = {
  // Reading and writing files
  E001: { severity: "error", title: "unexpected character" },
  E002: { severity: "error", title: "syntax error" },
  E003: { severity: "error", title: "invalid JSON" },
  E004: { severity: "error", title: "JSON does not match the cell schema" },
  E005: { severity: "error", title: "cannot read file" },
  E006: { severity: "error", title: "file too large" },
  E007: { severity: "error", title: "nested too deeply" },
  E008: { severity: "error", title: "cannot write file" },
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
  // Shapes and sizes
  E201: { severity: "error", title: "shape mismatch" },
  E202: { severity: "error", title: "matrix-vector shape mismatch" },
  E203: { severity: "error", title: "wrong rank" },
  E204: { severity: "error", title: "invalid dimension" },
  E205: { severity: "error", title: "next-state shape mismatch" },
  E206: { severity: "error", title: "size too large" },
  // Equations
  E301: { severity: "error", title: "state without a next-state equation" },
  E302: { severity: "error", title: "next value of something that is not a state" },
  E303: { severity: "error", title: "cycle among equations" },
  E304: { severity: "error", title: "equation defined twice" },
  E305: { severity: "error", title: "cell has no outputs" },
  E306: { severity: "error", title: "assignment to a declared name" },
  E307: { severity: "error", title: "number is not finite" },
  // Binding sizes and data (run time)
  E401: { severity: "error", title: "invalid size binding" },
  E402: { severity: "error", title: "data does not match the spec" },
  // Warnings
  // A code generator's target (lstmc check --target)
  E601: { severity: "error", title: "the target cannot compile this cell" },
  E602: { severity: "error", title: "not supported by this target yet" },
  // Importing models and weights (lstmc import, lstmc run MODEL.onnx)
  E701: { severity: "error", title: "cannot import the ONNX model" },
  E702: { severity: "error", title: "weights do not match the spec" },
  W501: { severity: "warning", title: "unused parameter" },
  W502: { severity: "warning", title: "unused input" },
  W503: { severity: "warning", title: "unused intermediate" },
} as const satisfies Record<string, CodeEntry>;

export type DiagnosticCode = keyof typeof codes;

export interface MessageEntry {
  readonly code: DiagnosticCode;
  readonly template: string;
}

export const messages = {
  // E001–E008: reading and writing files
  unexpectedCharacter: { code: "E001", template: "unexpected character {0}" },
  moreUnexpectedCharacters: { code: "E001", template: "{0} more runs of unexpected characters follow this one" },
  syntaxExpected: { code: "E002", template: "expected {0}, found {1}" },
  syntaxUnexpected: { code: "E002", template: "unexpected {0}" },
  jsonInvalidSymbol: { code: "E003", template: "unexpected character" },
  jsonInvalidNumberFormat: { code: "E003", template: "invalid number" },
  jsonPropertyNameExpected: { code: "E003", template: "expected a property name in double quotes" },
  jsonValueExpected: { code: "E003", template: "expected a value" },
  jsonColonExpected: { code: "E003", template: "expected ':'" },
  jsonCommaExpected: { code: "E003", template: "expected ','" },
  jsonCloseBraceExpected: { code: "E003", template: "expected '}'" },
  jsonCloseBracketExpected: { code: "E003", template: "expected ']'" },
  jsonEndOfFileExpected: { code: "E003", template: "expected the end of the file" },
  jsonInvalidCommentToken: { code: "E003", template: "comments are not allowed in JSON" },
  jsonUnexpectedEndOfComment: { code: "E003", template: "unterminated comment" },
  jsonUnexpectedEndOfString: { code: "E003", template: "unterminated string" },
  jsonUnexpectedEndOfNumber: { code: "E003", template: "unterminated number" },
  jsonInvalidUnicode: { code: "E003", template: "invalid \\u escape" },
  jsonInvalidEscapeCharacter: { code: "E003", template: "invalid escape character" },
  jsonInvalidCharacter: { code: "E003", template: "invalid character in a string" },
  jsonTrailingComma: { code: "E003", template: "trailing commas are not allowed in JSON" },
  jsonNotAnObject: { code: "E003", template: "expected a JSON object" },
  jsonInvalid: { code: "E003", template: "invalid JSON" },
  schemaDuplicateProperty: { code: "E004", template: '{0}: duplicate property "{1}"' },
  schemaMissingProperty: { code: "E004", template: '{0}: missing required property "{1}"' },
  schemaUnknownProperty: { code: "E004", template: '{0}: unknown property "{1}"' },
  schemaMustBe: { code: "E004", template: "{0}: must be {1}" },
  schemaNoAllowedForm: { code: "E004", template: "{0}: does not match any allowed form" },
  /** {1} is ajv's own wording of a schema keyword lstmc does not word itself. */
  schemaOther: { code: "E004", template: "{0}: {1}" },
  cannotRead: { code: "E005", template: "cannot read {0}: {1}" },
  notARegularFile: { code: "E005", template: "cannot read {0}: it is not a regular file" },
  fileTooLarge: { code: "E006", template: "{0} is {1} bytes; the limit is {2} bytes" },
  nestedTooDeeply: { code: "E007", template: "this expression nests more than {0} levels deep (each bracket, call, unary minus, and each operator of a chain such as a + b + c, is a level): split it into intermediate equations" },
  jsonNestedTooDeeply: { code: "E007", template: "JSON arrays and objects nested more than {0} levels deep" },
  cannotWrite: { code: "E008", template: "cannot write {0}: {1}" },
  unknownLoss: { code: "E002", template: "unknown loss '{0}' (known: {1})" },
  secondModelItem: { code: "E002", template: "a model has at most one {0}" },
  // E101–E110: names
  unknownName: { code: "E101", template: "unknown name '{0}'" },
  unknownNameSuggestion: { code: "E101", template: "unknown name '{0}'; did you mean '{1}'?" },
  alreadyDeclared: { code: "E102", template: "'{0}' is already declared as {1} at {2}" },
  invalidIdentifier: { code: "E103", template: "{0} name {1} must match {2} (a letter, then letters, digits or '_', at most 64)" },
  reservedIdentifier: { code: "E104", template: "{0} name '{1}' is reserved (a keyword or built-in of lstmc, TypeScript or WGSL)" },
  generatedNameCollision: { code: "E104", template: "size '{0}' would collide with the generated module's export of the same name" },
  unknownSize: { code: "E105", template: "unknown size '{0}' (declare it with 'size {0}')" },
  unknownLayerSize: { code: "E105", template: "cell '{0}' has no size '{1}' (its sizes: {2})" },
  layerSizeNotLinear: { code: "E204", template: "layer '{0}': its cell's size '{1}' = {2} is a product of two of the model's sizes, which a width cannot be; give one of them to the layer as a number, e.g. '{ {3} = 4 }' after the layer's inputs" },
  unboundLayerSize: { code: "E105", template: "layer '{0}': its cell's size '{1}' follows from no input and the model has no size of that name; give it, as in {{1} = H}" },
  notASize: { code: "E105", template: "'{0}' is {1}, not a size" },
  unknownFunction: { code: "E106", template: "unknown function '{0}' (known: {1})" },
  unknownFunctionSuggestion: { code: "E106", template: "unknown function '{0}'; did you mean '{1}'? (known: {2})" },
  functionArity: { code: "E107", template: "'{0}' takes {1}, not {2}" },
  initializerArity: { code: "E107", template: "initializer '{0}' takes {1} argument(s), not {2}" },
  uniformBounds: { code: "E107", template: "uniform(low, high) needs low < high, not {0} and {1}" },
  normalDeviation: { code: "E107", template: "normal(std) needs std > 0, not {0}" },
  unknownInitializer: { code: "E108", template: "unknown initializer '{0}' (known: {1})" },
  sizeAsValue: { code: "E109", template: "'{0}' is a size, which cannot be used as a value (except in a const's formula)" },
  constReadsStep: { code: "E109", template: "the formula of const '{0}' reads '{1}', {2}; a const may use only its indices, the sizes, numbers and the consts declared before it" },
  nextOfNonState: { code: "E110", template: "'{0}' is {1}; only states have a next value {0}'" },
  unknownModelInput: { code: "E101", template: "unknown input '{0}' (the model's inputs: {1})" },
  unknownLayer: { code: "E101", template: "unknown layer '{0}' (the model's layers: {1})" },
  unknownLayerOutput: { code: "E101", template: "layer '{0}' (cell '{1}') has no output '{2}' (its outputs: {3})" },
  unknownCell: { code: "E101", template: "no cell '{0}' in this file (its cells: {1}); name a spec file such as lstm.lstm" },
  unknownCellInput: { code: "E101", template: "cell '{0}' has no input '{1}' (its inputs: {2})" },
  unwiredCellInput: { code: "E101", template: "layer '{0}': nothing is wired to the cell's input '{1}'" },
  positionalLayerInput: { code: "E107", template: "cell '{0}' has {1} inputs: name each one, as in ({2})" },
  lossWithoutHead: { code: "E101", template: "the loss reads '{0}', but the model's head is {1}" },
  cellFileIsModel: { code: "E101", template: "{0} is a model; a layer's cell must be a cell" },
  // E201–E206: shapes and sizes
  wireWidth: { code: "E201", template: "layer '{0}': its cell's input '{1}' is {2} wide, but what is wired to it is {3} wide" },
  wireStatic: { code: "E201", template: "layer '{0}': its cell's input '{1}' is static (one value per sequence), but a model wires values of every step; models do not take static inputs" },
  elementwiseShapes: { code: "E201", template: "cannot apply '{0}' to {1} and {2}" },
  matvecShapes: { code: "E202", template: "cannot multiply {0} @ {1}: needs a matrix [m, n] @ a vector [n], a matrix [m, n] @ rows [L, n], or a vector [L] @ rows [L, n]" },
  declarationRank: { code: "E203", template: "{0} '{1}' must be {2}, not {3}" },
  needsVector: { code: "E203", template: "'{0}' needs a vector, but this is {1}" },
  concatOfNonVector: { code: "E203", template: "only vectors can be concatenated, but this is {0}" },
  outputNotVector: { code: "E203", template: "output '{0}' must be a vector, not {1}" },
  initializerNeedsMatrix: { code: "E203", template: "initializer '{0}' needs a matrix parameter" },
  sizeDefaultNotPositive: { code: "E204", template: "size '{0}' must default to a positive whole number, not {1}" },
  dimensionNotWhole: { code: "E204", template: "a dimension must be a whole number, not {0}" },
  dimensionNotPositiveByDefault: { code: "E204", template: "with the default sizes, {0} has dimension {1} = {2}, which is not positive" },
  dimensionNotLinear: { code: "E204", template: "a dimension must be linear in the sizes (a product of two sizes is not; define one, e.g. 'size H = G * K', and use it)" },
  sizeFormulaOrder: { code: "E204", template: "size '{0}' is defined by '{1}', which is not a size declared before it" },
  sliceOutOfRange: { code: "E204", template: "the slice [{0} : {1}] does not lie within the vector's {2} elements" },
  constShape: { code: "E201", template: "const '{0}' is {1}, but its formula gives {2}" },
  nextStateShape: { code: "E205", template: "{0}' is {1} but state '{0}' is {2}" },
  sizeTooLarge: { code: "E206", template: "size '{0}' = {1} is more than the limit of {2}" },
  tensorTooLarge: { code: "E206", template: "{0} would hold {1} elements ({2}), more than the limit of {3}" },
  // E301–E307: equations
  stateWithoutNext: { code: "E301", template: "state '{0}' has no next-state equation (add {0}' = …)" },
  nextOfUndeclared: { code: "E302", template: "'{0}' is not declared; only states have a next value (declare it with 'state {0}[…]')" },
  nextOfDeclared: { code: "E302", template: "'{0}' is {1}; only states have a next value (declare it with 'state {0}[…]')" },
  cycle: { code: "E303", template: "cycle among equations: {0}" },
  layerCycle: { code: "E303", template: "cycle among layers: {0}" },
  nextDefinedTwice: { code: "E304", template: "next value of '{0}' is already defined at {1}" },
  definedTwice: { code: "E304", template: "'{0}' is already defined at {1}" },
  modelNoOutput: { code: "E305", template: "the model declares no output and no head (add e.g. output h = L2.h)" },
  noOutput: { code: "E305", template: "the cell declares no output (add e.g. output h = h')" },
  assignToDeclared: { code: "E306", template: "cannot assign to '{0}', which is {1} declared at {2}" },
  assignToState: { code: "E306", template: "cannot assign to '{0}', which is a state declared at {1}; write {0}' = … for its next value" },
  numberNotFinite: { code: "E307", template: "this number is beyond the float range: it reads as {0} (the largest float is 1.7976931348623157e308)" },
  constantNotFinite: { code: "E307", template: "this constant expression evaluates to {0}, which is not a finite number" },
  divisionByZero: { code: "E307", template: "division by a constant zero" },
  // E601: what a target cannot compile (lstmc check --target)
  targetNumberRange: { code: "E601", template: "{0} is beyond float32's range (±3.4028234663852886e38), which is all the {1} target computes in" },
  targetCannotCompile: { code: "E601", template: "the {0} target cannot compile this cell: {1}" },
  // E602: what a target or engine does not support yet (the interpreter does)
  modelCellNotInJson: { code: "E602", template: "the JSON form names each layer's cell by file, and '{0}' is declared in this model's file: move it to a file of its own to convert the model to JSON" },
  // E401–E402: binding sizes and reading data at run time
  unknownSizeBinding: { code: "E401", template: "unknown size '{0}' (the cell's sizes: {1})" },
  sizeWithoutDefault: { code: "E401", template: "size '{0}' has no default; give it, e.g. {0}=8" },
  sizeNotPositive: { code: "E401", template: "size '{0}' must be a positive whole number, not {1}" },
  dimensionNotPositive: { code: "E401", template: "with these sizes, {0} has dimension {1} = {2}, which is not positive" },
  sizeDisagreesWithFormula: { code: "E401", template: "size '{0}' is defined at {1} as {2} = {3}, but is bound to {4}" },
  sliceOutOfRangeBound: { code: "E401", template: "with these sizes, the slice [{0} : {1}] at {2} is [{3} : {4}], outside the vector's {5} elements" },
  unreadableSizeBinding: { code: "E401", template: "cannot read size binding '{0}' (expected NAME=NUMBER, e.g. I=3,H=5)" },
  onnxModel: { code: "E701", template: "{0}: {1}" },
  weightsMismatch: { code: "E702", template: "{0}: {1}" },
  dataNotJson: { code: "E402", template: "{0} is not valid JSON: {1}" },
  dataNotAnObject: { code: "E402", template: "the data must be a JSON object" },
  dataUnknownField: { code: "E402", template: "unknown field '{0}' (expected: {1})" },
  dataDimsNotAnObject: { code: "E402", template: 'dims must be an object such as {"I": 3, "H": 5}' },
  dataNotPositiveInteger: { code: "E402", template: "{0} must be a positive whole number, got {1}" },
  dataNotArray: { code: "E402", template: "{0} must be an array of {1} numbers" },
  dataLength: { code: "E402", template: "{0} has {1} numbers, but the spec needs {2}" },
  dataNotNumber: { code: "E402", template: "{0}[{1}] must be a finite number, got {2}" },
  dataNotFinite: { code: "E402", template: "{0}[{1}] is not a finite number (it reads as {2})" },
  dataGroupNotAnObject: { code: "E402", template: "{0} must be an object of named arrays" },
  dataUnknownTensor: { code: "E402", template: "{0}.{1} is not in the spec (expected: {2})" },
  dataMissingTensor: { code: "E402", template: "{0}.{1} is missing" },
  dataUpstreamNotAnObject: { code: "E402", template: "upstream must be an object with 'outputs' and 'final'" },
  dataLengthsNotArray: { code: "E402", template: "lengths must be an array of {0} whole numbers (one per batch row), each from 1 to steps = {1}" },
  dataLengthOutOfRange: { code: "E402", template: "lengths[{0}] must be a whole number from 1 to steps = {2}, got {1}" },
  dataTargetsMissing: { code: "E402", template: "the model's loss ({0}) needs targets: an array of {1} numbers" },
  dataTargetsWithoutLoss: { code: "E402", template: "targets are given, but the model has no loss" },
  dataTargetNotClass: { code: "E402", template: "targets[{0}] must be a class index from 0 to {1}, got {2}" },
  dataUpstreamUnknownField: { code: "E402", template: "upstream.{0} is not a field (expected: outputs, final)" },
  // W501–W503: warnings
  unusedParameter: { code: "W501", template: "parameter '{0}' is never used" },
  unusedInput: { code: "W502", template: "input '{0}' is never used" },
  unusedIntermediate: { code: "W503", template: "'{0}' is computed but never used by a next state or an output" },
} as const satisfies Record<string, MessageEntry>;

export type MessageId = keyof typeof messages;

/** A message argument: a name, a shape, a number, a list already joined. */
export type MessageArgument = string | number;

/** Fills a message's holes. A hole without an argument is a bug in the caller. */
export function formatMessage(id: MessageId, args: readonly MessageArgument[]): string {
  return messages[id].template.replace(/\{(\d+)\}/g, (_, index: string) => {
    const value = args[Number(index)];
    if (value === undefined) throw new Error(`internal: message '${id}' needs argument {${index}}`);
    return String(value);
  });
}
