import type { Command } from '@commander-js/extra-typings';
import { summarize } from '@convnets/layers';
import { architecture } from '../architectures';
import { channelPaddingOption, int, useBackend } from '../options';
import { stageTable } from '../stages';

/** Registers `convnets summary`: an architecture's stages, sizes, parameters and multiply-adds. */
export function summaryCommand(program: Command): void {
  program
    .command('summary')
    .description(
      "an architecture's stages, output sizes, parameters and multiply-adds (the paper's Table 1 row)",
    )
    .argument('<arch>', 'architecture')
    .option('--classes <n>', 'classes (default 1000; CIFAR 10)', int('classes'))
    .option('--image-size <px>', 'input size', int('image-size'))
    .addOption(channelPaddingOption())
    .option('--layers', 'also list every layer')
    .option('--json', 'print one JSON document')
    .action(async (arch, o) => {
      const a = architecture(arch, { channelPadding: o.channelPadding });
      await useBackend('cpu', false); // building a model needs a backend; nothing runs
      const model = a.build({
        classes: o.classes ?? (a.family === 'cifar' ? 10 : 1000),
        imageSize: o.imageSize,
        skipInit: true, // shapes and counts only: no random draw
      });
      const s = summarize(model, { skipParameterFree: true });
      const stages = stageTable(s);
      if (o.json) {
        const { trainableParams, nonTrainableParams, multiplyAdds } = s;
        const layers = o.layers ? { layers: s.layers } : {};
        console.log(
          JSON.stringify({
            arch,
            trainableParams,
            nonTrainableParams,
            multiplyAdds,
            stages,
            ...layers,
          }),
        );
        return;
      }
      const count = (n: number) => n.toLocaleString('en-US');
      console.log(
        `${arch}: ${count(s.trainableParams)} parameters, ${count(s.multiplyAdds)} multiply-adds (${(s.multiplyAdds / 1e9).toFixed(2)}×10^9)`,
      );
      for (const st of stages)
        console.log(
          `  ${st.stage.padEnd(12)} ${st.outputSize.padEnd(10)} ${String(st.layers).padStart(3)} layers  ${count(st.params).padStart(13)} params  ${count(st.multiplyAdds).padStart(16)} mult-adds`,
        );
      if (o.layers) console.log(s.toTable());
    });
}
