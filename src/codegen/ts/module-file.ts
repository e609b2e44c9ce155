// A generated module's top-level statements, gathered as ts-morph structures
// and printed once. Adding each declaration to a ts-morph SourceFile re-parses
// the whole file every time, which made rendering quadratic in the module's
// size (10 s of a 2000-equation spec's compile); printing the finished
// structure is one pass.
import {
  Project,
  StructureKind,
  type FunctionDeclarationStructure,
  type InterfaceDeclarationStructure,
  type OptionalKind,
  type StatementStructures,
  type TypeAliasDeclarationStructure,
  type VariableStatementStructure,
  type WriterFunction,
} from "ts-morph";

type Statement = string | WriterFunction | StatementStructures;

/** The part of ts-morph's SourceFile API the renderers use, collecting instead of editing. */
export class ModuleFile {
  private readonly statements: Statement[] = [];
  addStatements(statements: string | WriterFunction | readonly (string | WriterFunction)[]): void {
    if (typeof statements === "string" || typeof statements === "function") this.statements.push(statements);
    else this.statements.push(...statements);
  }
  addFunction(structure: OptionalKind<FunctionDeclarationStructure>): void {
    this.statements.push({ ...structure, kind: StructureKind.Function });
  }
  addInterface(structure: OptionalKind<InterfaceDeclarationStructure>): void {
    this.statements.push({ ...structure, kind: StructureKind.Interface });
  }
  /** A statement with no declarations (a module without workspaces) is left out. */
  addVariableStatement(structure: OptionalKind<VariableStatementStructure>): void {
    if (structure.declarations.length > 0) this.statements.push({ ...structure, kind: StructureKind.VariableStatement });
  }
  addTypeAlias(structure: OptionalKind<TypeAliasDeclarationStructure>): void {
    this.statements.push({ ...structure, kind: StructureKind.TypeAlias });
  }
  /** The module's text, printed once from the gathered structures. */
  getFullText(): string {
    const project = new Project({ useInMemoryFileSystem: true });
    return project.createSourceFile("module.ts", { statements: this.statements }, { overwrite: true }).getFullText();
  }
}
