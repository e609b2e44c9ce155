// Which names a spec may use. Names flow into generated TypeScript and WGSL,
// so they must match a strict pattern and avoid both languages' reserved words
// (and the words generated code relies on), whatever the generator does.
import { KEYWORDS } from "../../grammar/tokens.ts";
import { KNOWN_FUNCTIONS } from "./functions.ts";

export const IDENTIFIER_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const TYPESCRIPT_RESERVED = `abstract any arguments as async await boolean break case catch class const constructor continue
debugger declare default delete do else enum eval export extends false finally for from function get if implements import
in infer instanceof interface is keyof let module namespace never new null number object of package private protected
public readonly require return set static string super switch symbol this throw true try type typeof undefined unique
unknown var void while with yield NaN Infinity globalThis prototype Math Number Object Array Float32Array Float64Array
Int32Array Uint32Array Error Symbol JSON Promise Reflect Proxy console window self document`;

// WGSL keywords, reserved words and predeclared type names (WGSL spec §15).
const WGSL_RESERVED = `alias break case const const_assert continue continuing default diagnostic discard else enable false
fn for if let loop override requires return struct switch true var while NULL Self abstract active alignas alignof as asm
asm_fragment async attribute auto await become binding_array cast catch class co_await co_return co_yield coherent
column_major common compile compile_fragment concept const_cast consteval constexpr constinit crate debugger decltype
delete demote demote_to_helper do dynamic_cast enum explicit export extends extern external fallthrough filter final
finally friend from fxgroup get goto groupshared highp impl implements import inline instanceof interface layout lowp
macro macro_rules match mediump meta mod module move mut mutable namespace new nil noexcept noinline nointerpolation
noperspective null nullptr of operator package packoffset partition pass patch pixelfragment precise precision premerge
priv protected pub public readonly ref regardless register reinterpret_cast require resource restrict self set shared
sizeof smooth snorm static static_assert static_cast std subroutine super target template this thread_local throw trait
try type typedef typeid typename typeof union unless unorm unsafe unsized use using varying virtual volatile wgsl where
with writeonly yield bool f16 f32 i32 u32 vec2 vec3 vec4 mat2x2 mat2x3 mat2x4 mat3x2 mat3x3 mat3x4 mat4x2 mat4x3 mat4x4
array atomic ptr sampler sampler_comparison texture_1d texture_2d texture_2d_array texture_3d texture_cube
texture_cube_array texture_multisampled_2d texture_storage_1d texture_storage_2d texture_storage_2d_array
texture_storage_3d texture_depth_2d texture_depth_2d_array texture_depth_cube texture_depth_cube_array
texture_depth_multisampled_2d texture_external vec2i vec3i vec4i vec2u vec3u vec4u vec2f vec3f vec4f vec2h vec3h vec4h
uniform storage workgroup private function read write read_write select clamp min max abs exp log tanh sqrt`;

export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  ...TYPESCRIPT_RESERVED.split(/\s+/),
  ...WGSL_RESERVED.split(/\s+/),
  ...KEYWORDS,
  ...KNOWN_FUNCTIONS,
]);

/**
 * Names the generated modules (TypeScript, JavaScript, WebGPU; cells and models) export or declare at the top
 * level, besides one constant per size: a size of one of these names would be exported twice, so the checker
 * refuses it where it is declared.
 */
export const GENERATED_EXPORTS: ReadonlySet<string> = new Set([
  "sizes", "Params", "Inputs", "States", "Outputs", "Saved", "Gradients", "Upstream", "ForwardOptions", "ForwardResult",
  "initParams", "forward", "backward", "step", "createState", "invalidate", "saveParams", "loadParams", "kernels",
  "Float", "FloatArray", "fromOnnx", "fromTorch", "OnnxWeights", "TorchWeights",
  "Cell", "createCell", "Model", "createModel", "GpuParams", "ParamLayout", "FORWARD_WGSL", "BACKWARD_WGSL",
]);

export type NameProblem = "pattern" | "reserved" | null;

export function nameProblem(name: string): NameProblem {
  if (!IDENTIFIER_PATTERN.test(name)) return "pattern";
  if (RESERVED_WORDS.has(name)) return "reserved";
  return null;
}
