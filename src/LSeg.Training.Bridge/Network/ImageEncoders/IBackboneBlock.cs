namespace LSeg.Training.Bridge.Network.ImageEncoders;

/// <summary>
/// One residual block of a backbone (a ResNet basic or bottleneck block, a transformer block): the unit that
/// fine-tuning unfreezes from the end ("train the last N blocks"). Blocks are found by this marker in the backbone's
/// module order, which is their order in the forward pass.
/// </summary>
internal interface IBackboneBlock;
