import type { ModelSummary } from '@convnets/layers';

/** One row of the paper's Table 1: a stage, its output size, and its cost. */
export interface StageRow {
  stage: string;
  outputSize: string;
  layers: number;
  params: number;
  multiplyAdds: number;
}

/** Groups a summary's layers into stages by name (`conv2_block1_…` → `conv2_x`, `block3_conv1` → `block3`). */
export function stageTable(summary: ModelSummary): StageRow[] {
  const rows: StageRow[] = [];
  for (const layer of summary.layers) {
    const head = layer.name.split('_')[0];
    const stage = /^conv[2-9]$/.test(head) ? `${head}_x` : head;
    let row = rows[rows.length - 1];
    if (!row || row.stage !== stage) {
      row = { stage, outputSize: '', layers: 0, params: 0, multiplyAdds: 0 };
      rows.push(row);
    }
    const shape = (
      Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape
    ) as (number | null)[];
    row.outputSize =
      shape.length === 4 ? `${shape[1]}×${shape[2]}` : `${shape[shape.length - 1]}-d`;
    if (layer.multiplyAdds > 0) row.layers++;
    row.params += layer.trainableParams;
    row.multiplyAdds += layer.multiplyAdds;
  }
  return rows;
}
