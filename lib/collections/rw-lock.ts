// Readers together, writers alone, in arrival order: a collection's searches and
// reads run concurrently, and a mutation waits for them and runs by itself, so a
// search never maps a label that an upsert retired while FAISS was searching.
// A reader that arrives while a writer waits queues behind it (writers do not starve).
export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: { write: boolean; grant: () => void }[] = [];

  read<T>(work: () => Promise<T>): Promise<T> {
    return this.run(false, work);
  }

  write<T>(work: () => Promise<T>): Promise<T> {
    return this.run(true, work);
  }

  private async run<T>(write: boolean, work: () => Promise<T>): Promise<T> {
    await new Promise<void>((grant) => {
      this.waiting.push({ write, grant });
      this.next();
    });
    try {
      return await work();
    } finally {
      if (write) this.writing = false;
      else this.readers--;
      this.next();
    }
  }

  private next(): void {
    while (this.waiting.length > 0 && !this.writing) {
      const head = this.waiting[0];
      if (head.write && this.readers > 0) return;
      this.waiting.shift();
      if (head.write) this.writing = true;
      else this.readers++;
      head.grant();
      if (head.write) return;
    }
  }
}
