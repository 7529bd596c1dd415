/** The part of jStat (npm `jstat`, MIT; it ships no types) that the project uses. */
declare module 'jstat' {
  export const jStat: {
    normal: {
      /** The quantile of the normal distribution with this mean and standard deviation at probability `p`. */
      inv(p: number, mean: number, sd: number): number;
    };
    /** Pearson's correlation of two samples of equal length. */
    corrcoeff(a: number[], b: number[]): number;
  };
}
