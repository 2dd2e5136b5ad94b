/**
 * A resettable wake-up: `wait(ms)` resolves on the next `wake()` or after `ms`, whichever is
 * first. A `wake()` with nobody waiting is remembered, so a wake-up that arrives while the loop is
 * busy claiming is not lost.
 */
export class WakeSignal {
  #pending = false;
  #resolve: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;

  wake(): void {
    if (this.#resolve) {
      const resolve = this.#resolve;
      this.#clear();
      resolve();
    } else {
      this.#pending = true;
    }
  }

  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => this.wake(), ms);
    });
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#resolve = null;
    this.#pending = false;
  }
}
