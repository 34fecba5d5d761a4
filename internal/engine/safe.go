package engine

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
)

// Contain returns o wrapped so that a panic in any of its methods is
// contained: it is recovered, logged once per call at Error level with its
// stack on log (nil: slog.Default), and not re-raised. The guard then goes
// on as if the method had returned (Start and AttemptStart return the
// context they were given), so a broken callback cannot leak a
// reservation, skip a settlement or leave a span open. Contain of a
// contained Observer returns it unchanged.
func Contain(o Observer, log *slog.Logger) Observer {
	if o == nil {
		return NopObserver{}
	}
	if c, ok := o.(contained); ok {
		return c
	}
	return contained{o: o, log: log}
}

// ContainClassifier returns c wrapped so that a panic in it is contained
// like an Observer's (see [Contain]): the panicking classifier has no
// opinion (the zero Class), and the next classifier in the chain decides.
func ContainClassifier(c classify.Classifier, log *slog.Logger) classify.Classifier {
	if c == nil {
		return nil
	}
	return classify.ClassifierFunc(func(err error) (cls classify.Class) {
		defer func() {
			if r := recover(); r != nil {
				logPanic(log, "Classifier.Classify", r)
				cls = classify.Class{}
			}
		}()
		return c.Classify(err)
	})
}

// containClassify is ContainClassifier for a classify function: a panic
// falls back to classify.Classify.
func containClassify(f func(error) classify.Class, log *slog.Logger) func(error) classify.Class {
	return func(err error) (cls classify.Class) {
		defer func() {
			if r := recover(); r != nil {
				logPanic(log, "Classify", r)
				cls = classify.Classify(err)
			}
		}()
		return f(err)
	}
}

func logPanic(log *slog.Logger, where string, r any) {
	if log == nil {
		log = slog.Default()
	}
	log.Error("bedrockguard: a callback panicked; the panic was contained and the call goes on",
		"callback", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

type contained struct {
	o   Observer
	log *slog.Logger
}

func (c contained) recover(where string) {
	if r := recover(); r != nil {
		logPanic(c.log, "Observer."+where, r)
	}
}

func (c contained) Start(ctx context.Context, call *Call) (out context.Context) {
	out = ctx
	defer c.recover("Start")
	if got := c.o.Start(ctx, call); got != nil {
		out = got
	}
	return out
}

func (c contained) Paced(ctx context.Context, call *Call, waited time.Duration, err error) {
	defer c.recover("Paced")
	c.o.Paced(ctx, call, waited, err)
}

func (c contained) AttemptStart(ctx context.Context, call *Call, n int) (out context.Context) {
	out = ctx
	defer c.recover("AttemptStart")
	if got := c.o.AttemptStart(ctx, call, n); got != nil {
		out = got
	}
	return out
}

func (c contained) AttemptEnd(ctx context.Context, call *Call, e AttemptEvent) {
	defer c.recover("AttemptEnd")
	c.o.AttemptEnd(ctx, call, e)
}

func (c contained) Throttled(ctx context.Context, call *Call, e ThrottleEvent) {
	defer c.recover("Throttled")
	c.o.Throttled(ctx, call, e)
}

func (c contained) Settled(ctx context.Context, call *Call, e SettleEvent) {
	defer c.recover("Settled")
	c.o.Settled(ctx, call, e)
}

func (c contained) Retry(ctx context.Context, call *Call, e RetryEvent) {
	defer c.recover("Retry")
	c.o.Retry(ctx, call, e)
}

func (c contained) End(ctx context.Context, call *Call, err error) {
	defer c.recover("End")
	c.o.End(ctx, call, err)
}
