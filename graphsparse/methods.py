"""The graph methods, as the registry knows them (imported by the registry through the
``sparsebox.methods`` entry point; nothing heavy is imported here)."""

from sparsebox.registry import register

register("teddy", item="edge", target="graphsparse.teddy:TeddyPruner", data="graph",
         summary="TEDDY's degree-based one-shot edge scores t_u t_v; self-loops always stay",
         reference="Seo, Yun, Yang, ICLR 2024")
register("fegrass", item="edge", target="graphsparse.static:FeGrassSparsifier", data="graph",
         summary="spectral sparsifier: spanning tree, off-tree recovery by stretch, "
                 "GRASS-style refinement",
         reference="Liu, Yu, Feng, IEEE TCAD 2022")
register("effective-resistance", item="edge",
         target="graphsparse.resistance:EffectiveResistanceSampler", data="graph",
         summary="Spielman-Srivastava sampling by w R_e (JL-projected), reweighted",
         reference="Spielman, Srivastava, SIAM J. Comput. 2011")
register("random", item="edge", target="graphsparse.random_edges:RandomEdgePruner",
         data="graph", summary="edges kept uniformly at random (the baseline to beat)")
register("ugs", item="edge", target="graphsparse.ugs:UgsPruner", data="node-graph",
         summary="UGS: edge masks learned with a GNN, pruned 5% per round",
         reference="Chen et al., ICML 2021")
register("gtsp", item="token", target="graphsparse.gtsp.estimator:GtspTokenPruner",
         data="molecules",
         summary="GTSP's learned token selection: a graph transformer's Gumbel top-k scorer "
                 "keeps ceil(r n) atoms of each molecule in its attention",
         reference="Liu et al., Neural Networks 2024")
register("dygrass", item="edge", target="graphsparse.dynamic:DynamicSpectralSparsifier",
         data="edge-stream", streaming=True,
         summary="dyGRASS: a spectral sparsifier kept up to date under edge insertions "
                 "(random walks) and deletions (refinement)",
         reference="Yuan, Aghdaei, Feng, 2025")
