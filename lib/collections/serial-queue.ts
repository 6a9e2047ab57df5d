// Runs tasks one at a time, in the order they were queued: the mutations of one
// collection apply in arrival order, and a failed one does not stop the next.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
