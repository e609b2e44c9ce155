// safetensors files on disk: the format itself is src/runtime/safetensors.ts.
import { readFileSync } from "node:fs";
import { writeFileAtomically } from "../write-file.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsFile } from "../runtime/safetensors.ts";

export { decodeSafetensors, dtypeOf, encodeSafetensors, stored, type Dtype, type SafetensorsFile, type StoredTensor } from "../runtime/safetensors.ts";

export function saveSafetensors(path: string, file: SafetensorsFile): void {
  writeFileAtomically(path, encodeSafetensors(file));
}

export function loadSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(readFileSync(path));
}
