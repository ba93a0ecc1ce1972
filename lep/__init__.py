"""Learned Embedding Propagation: vocabulary adaptation, embedding init, embeddings-only training, propagation."""
