"""Metaflow's "store artifacts across steps" tutorial, verbatim but for its import line.

python examples/flows/art_flow.py run --run-id-file artifacts-run.txt
python examples/flows/art_flow.py run     # every step is a hit: nothing runs again
python examples/client/browse.py artifacts-run.txt
"""

from provenance.flow import FlowSpec, step


class ArtFlow(FlowSpec):
    @step
    def start(self):
        self.some_data = [1, 2, 3]  # define artifact state
        self.next(self.middle)

    @step
    def middle(self):
        print(f"the data artifact is: {self.some_data}")
        self.some_data = [1, 2, 4]  # update artifact state
        self.next(self.end)

    @step
    def end(self):
        print(f"the data artifact is: {self.some_data}")


if __name__ == "__main__":
    ArtFlow()
