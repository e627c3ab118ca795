// Line charts with uPlot (small, fast, made for series that grow): loss curves, series, forecasts with bands.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  /** Drawn as points only (a validation loss from an in-epoch estimate, say). */
  points?: boolean;
}

export interface Band {
  /** Indices into the lines (1-based, as uPlot counts with x at 0): the upper line, then the lower one. */
  upper: number;
  lower: number;
  color: string;
}

const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];

const wholeIncrements = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000];

export function color(index: number): string {
  return palette[index % palette.length];
}

/** A chart that fills its container's width and follows it when the window is resized; update() redraws with new data. */
export class LineChart {
  private readonly plot: uPlot;
  private readonly observer: ResizeObserver;

  constructor(
    readonly container: HTMLElement,
    lines: Line[],
    data: (number | null)[][],
    options: { xLabel?: string; yLabel?: string; bands?: Band[]; height?: number; log?: boolean; timeAxis?: boolean; wholeX?: boolean } = {},
  ) {
    const width = Math.max(280, container.clientWidth || 600);
    this.plot = new uPlot(
      {
        width,
        height: options.height ?? 280,
        scales: { x: { time: options.timeAxis ?? false }, y: options.log ? { distr: 3 } : {} },
        // Epochs and steps are whole numbers: their axis is ticked at whole numbers only.
        axes: [{ label: options.xLabel, incrs: options.wholeX ? wholeIncrements : undefined }, { label: options.yLabel, size: 60 }],
        series: [
          { label: options.xLabel ?? "x" },
          ...lines.map((line) => ({
            label: line.label,
            stroke: line.color,
            width: line.width ?? 2,
            dash: line.dash,
            points: { show: line.points ?? false, size: 6 },
            paths: line.points ? () => null : undefined,
            spanGaps: false,
          })),
        ],
        bands: options.bands?.map((band) => ({ series: [band.upper, band.lower] as [number, number], fill: band.color })),
        legend: { live: true },
      },
      data as uPlot.AlignedData,
      container,
    );
    this.observer = new ResizeObserver(() => {
      const next = Math.max(280, container.clientWidth);
      if (Math.abs(next - this.plot.width) > 4) this.plot.setSize({ width: next, height: this.plot.height });
    });
    this.observer.observe(container);
  }

  update(data: (number | null)[][]): void {
    this.plot.setData(data as uPlot.AlignedData);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot.destroy();
  }
}

/** A heatmap on a canvas: rows × columns of values in [-1, 1] (tanh activations), blue below 0, red above. */
export function heatmapColor(value: number): string {
  const v = Math.max(-1, Math.min(1, value));
  const strength = Math.round(255 * (1 - Math.abs(v)));
  return v >= 0 ? `rgb(255,${strength},${strength})` : `rgb(${strength},${strength},255)`;
}
