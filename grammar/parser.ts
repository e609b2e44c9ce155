// The DSL's grammar: rules only, no semantic actions. Meaning is given by the
// CST visitor in src/parse/dsl.ts.
//
//   spec        := "cell" Identifier "{" item* "}"
//   item        := sizeDecl | inputDecl | stateDecl | paramDecl | constDecl | outputDecl | equation  (";" optional)
//   sizeDecl    := "size" sizeBinding ("," sizeBinding)*
//   sizeBinding := Identifier ("=" dim)?              -- a number is a default; anything else defines the size (H = G * K)
//   inputDecl   := "static"? "input" Identifier shape
//   stateDecl   := "state" Identifier shape ("=" signedNumber)?
//   paramDecl   := "param" Identifier shape? ("~" initializer)?
//   constDecl   := "const" constDefinition
//   constDefinition := Identifier ("[" Identifier ":" dim ("," Identifier ":" dim)* "]")? "=" expression
//   outputDecl  := "output" Identifier "=" expression
//   equation    := Identifier "'"? "=" expression
//   shape       := "[" dim ("," dim)* "]"
//   dim         := dimTerm (("+" | "-") dimTerm)*
//   dimTerm     := dimAtom ("*" dimAtom)*
//   dimAtom     := Number | Identifier | "(" dim ")"
//   initializer := Identifier ("(" signedNumber ("," signedNumber)* ")")?
//   expression  := additive (("<" | "<=" | ">" | ">=" | "==" | "!=") additive)?   -- comparisons do not chain
//   additive    := product (("+" | "-") product)*
//   product     := matmul (("*" | "/") matmul)*
//   matmul      := unary ("@" unary)*          -- binds tighter than "*": r * U @ h = r * (U @ h)
//   unary       := "-" unary | power
//   power       := postfix ("^" unary)?        -- right-associative, tighter than "-": -2 ^ m = -(2 ^ m)
//   postfix     := primary ("[" dim ":" dim "]")*   -- a slice, from the first bound up to (not including) the second
//   primary     := Number | "(" expression ")" | "[" expression ("," expression)* "]"
//                | (Identifier | "σ") ("(" expression ("," expression)* ")" | "'")?
import { CstParser } from "chevrotain";
import * as t from "./tokens.ts";

export class CellParser extends CstParser {
  constructor() {
    super(t.allTokens, { maxLookahead: 3, nodeLocationTracking: "full" });
    this.performSelfAnalysis();
  }

  spec = this.RULE("spec", () => {
    this.CONSUME(t.Cell);
    this.CONSUME(t.Identifier);
    this.CONSUME(t.LCurly);
    this.MANY(() => {
      this.SUBRULE(this.item);
      this.OPTION(() => this.CONSUME(t.Semicolon));
    });
    this.CONSUME(t.RCurly);
  });

  item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.sizeDecl) },
      { ALT: () => this.SUBRULE(this.inputDecl) },
      { ALT: () => this.SUBRULE(this.stateDecl) },
      { ALT: () => this.SUBRULE(this.paramDecl) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.outputDecl) },
      { ALT: () => this.SUBRULE(this.equation) },
    ]);
  });

  sizeDecl = this.RULE("sizeDecl", () => {
    this.CONSUME(t.Size);
    this.AT_LEAST_ONE_SEP({
      SEP: t.Comma,
      DEF: () => this.SUBRULE(this.sizeBinding),
    });
  });

  sizeBinding = this.RULE("sizeBinding", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() => {
      this.CONSUME(t.Equals);
      this.SUBRULE(this.dim);
    });
  });

  inputDecl = this.RULE("inputDecl", () => {
    this.OPTION(() => this.CONSUME(t.Static));
    this.CONSUME(t.Input);
    this.CONSUME(t.Identifier);
    this.SUBRULE(this.shape);
  });

  stateDecl = this.RULE("stateDecl", () => {
    this.CONSUME(t.State);
    this.CONSUME(t.Identifier);
    this.SUBRULE(this.shape);
    this.OPTION(() => {
      this.CONSUME(t.Equals);
      this.SUBRULE(this.signedNumber);
    });
  });

  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(t.Param);
    this.CONSUME(t.Identifier);
    this.OPTION(() => this.SUBRULE(this.shape));
    this.OPTION2(() => {
      this.CONSUME(t.Tilde);
      this.SUBRULE(this.initializer);
    });
  });

  constDecl = this.RULE("constDecl", () => {
    this.CONSUME(t.Const);
    this.SUBRULE(this.constDefinition);
  });

  /** What follows `const`; a JSON spec's `consts` strings hold exactly this. */
  constDefinition = this.RULE("constDefinition", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() => {
      this.CONSUME(t.LBracket);
      this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => this.SUBRULE(this.indexDim) });
      this.CONSUME(t.RBracket);
    });
    this.CONSUME(t.Equals);
    this.SUBRULE(this.expression);
  });

  /** `i: H`, an index named for the formula, running over a dimension. */
  indexDim = this.RULE("indexDim", () => {
    this.CONSUME(t.Identifier);
    this.CONSUME(t.Colon);
    this.SUBRULE(this.dim);
  });

  outputDecl = this.RULE("outputDecl", () => {
    this.CONSUME(t.Output);
    this.CONSUME(t.Identifier);
    this.CONSUME(t.Equals);
    this.SUBRULE(this.expression);
  });

  equation = this.RULE("equation", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() => this.CONSUME(t.Prime));
    this.CONSUME(t.Equals);
    this.SUBRULE(this.expression);
  });

  shape = this.RULE("shape", () => {
    this.CONSUME(t.LBracket);
    this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => this.SUBRULE(this.dim) });
    this.CONSUME(t.RBracket);
  });

  dim = this.RULE("dim", () => {
    this.SUBRULE(this.dimTerm);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(t.Plus) }, { ALT: () => this.CONSUME(t.Minus) }]);
      this.SUBRULE2(this.dimTerm);
    });
  });

  dimTerm = this.RULE("dimTerm", () => {
    this.SUBRULE(this.dimAtom);
    this.MANY(() => {
      this.CONSUME(t.Star);
      this.SUBRULE2(this.dimAtom);
    });
  });

  dimAtom = this.RULE("dimAtom", () => {
    this.OR([
      { ALT: () => this.CONSUME(t.NumberLiteral) },
      { ALT: () => this.CONSUME(t.Identifier) },
      {
        ALT: () => {
          this.CONSUME(t.LParen);
          this.SUBRULE(this.dim);
          this.CONSUME(t.RParen);
        },
      },
    ]);
  });

  initializer = this.RULE("initializer", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() => {
      this.CONSUME(t.LParen);
      this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => this.SUBRULE(this.signedNumber) });
      this.CONSUME(t.RParen);
    });
  });

  signedNumber = this.RULE("signedNumber", () => {
    this.OPTION(() => this.CONSUME(t.Minus));
    this.CONSUME(t.NumberLiteral);
  });

  expression = this.RULE("expression", () => {
    this.SUBRULE(this.additive);
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(t.Less) },
        { ALT: () => this.CONSUME(t.LessEqual) },
        { ALT: () => this.CONSUME(t.Greater) },
        { ALT: () => this.CONSUME(t.GreaterEqual) },
        { ALT: () => this.CONSUME(t.EqualEqual) },
        { ALT: () => this.CONSUME(t.NotEqual) },
      ]);
      this.SUBRULE2(this.additive);
    });
  });

  additive = this.RULE("additive", () => {
    this.SUBRULE(this.product);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(t.Plus) }, { ALT: () => this.CONSUME(t.Minus) }]);
      this.SUBRULE2(this.product);
    });
  });

  product = this.RULE("product", () => {
    this.SUBRULE(this.matmul);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(t.Star) }, { ALT: () => this.CONSUME(t.Slash) }]);
      this.SUBRULE2(this.matmul);
    });
  });

  matmul = this.RULE("matmul", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.CONSUME(t.At);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(t.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.power) },
    ]);
  });

  power = this.RULE("power", () => {
    this.SUBRULE(this.postfix);
    this.OPTION(() => {
      this.CONSUME(t.Caret);
      this.SUBRULE(this.unary);
    });
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.CONSUME(t.LBracket);
      this.SUBRULE(this.dim);
      this.CONSUME(t.Colon);
      this.SUBRULE2(this.dim);
      this.CONSUME(t.RBracket);
    });
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(t.NumberLiteral) },
      {
        ALT: () => {
          this.CONSUME(t.LParen);
          this.SUBRULE(this.expression);
          this.CONSUME(t.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(t.LBracket);
          this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => this.SUBRULE2(this.expression) });
          this.CONSUME(t.RBracket);
        },
      },
      { ALT: () => this.SUBRULE(this.nameUse) },
    ]);
  });

  /** A reference `h`, a next value `c'`, or a call `tanh(c')`. */
  nameUse = this.RULE("nameUse", () => {
    this.OR([{ ALT: () => this.CONSUME(t.Identifier) }, { ALT: () => this.CONSUME(t.Sigma) }]);
    this.OPTION(() => {
      this.OR2([
        {
          ALT: () => {
            this.CONSUME(t.LParen);
            this.AT_LEAST_ONE_SEP2({ SEP: t.Comma, DEF: () => this.SUBRULE3(this.expression) });
            this.CONSUME(t.RParen);
          },
        },
        { ALT: () => this.CONSUME(t.Prime) },
      ]);
    });
  });
}

/** One shared instance: chevrotain parsers are reusable once `input` is reset. */
export const cellParser = new CellParser();
